"""District administration: the admin's home, staff, council rooms, units and categories, working days, the
manual review queue, the audit viewer and blocks. Pages only; the rules they apply live in `models`."""

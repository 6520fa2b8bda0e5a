"""The one blueprint every admin page registers on; `admin.views` imports the page modules."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

// The topics my complaints became or joined, the latest change first, with their meetings.
const api = require('../../utils/api')
const { withTimes } = require('../../utils/format')
const page = require('../../utils/page')

Component({
  behaviors: [page],
  data: { topics: [] },
  methods: {
    onLoad() {
      this.load()
    },
    load() {
      return this.loadWith(
        api.myTopics(),
        (list) => ({ topics: list.map((t) => withTimes(t, ['state_changed_at'])) }),
        (list) => list.length === 0,
      )
    },
  },
})

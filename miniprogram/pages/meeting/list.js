// The meetings I was invited to, registered for or am behind a topic of: those to come first.
const api = require('../../utils/api')
const { withTimes } = require('../../utils/format')
const page = require('../../utils/page')

Component({
  behaviors: [page],
  data: { meetings: [] },
  methods: {
    onLoad() {
      this.load()
    },
    load() {
      return this.loadWith(
        api.myMeetings(),
        (list) => ({ meetings: list.map((m) => withTimes(m, ['starts_at'])) }),
        (list) => list.length === 0,
      )
    },
  },
})

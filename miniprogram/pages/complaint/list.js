// My complaints, newest first; and, when messages could not reach me for want of a subscription, the prompt
// to allow them again (what GET /subscriptions lists under `resubscribe`).
const api = require('../../utils/api')
const { withTimes } = require('../../utils/format')
const page = require('../../utils/page')

Component({
  behaviors: [page],
  data: { complaints: [], resubscribe: [], waiting: 0 },
  methods: {
    onLoad() {
      this.load()
    },
    load() {
      api.subscriptions().then(
        (data) => {
          const waiting = Object.keys(data.waiting).reduce((n, k) => n + data.waiting[k], 0)
          this.setData({ resubscribe: data.resubscribe, waiting })
        },
        () => this.setData({ resubscribe: [] }), // the list matters more than the prompt
      )
      return this.loadWith(
        api.myComplaints(),
        (list) => ({ complaints: list.map((c) => withTimes(c, ['created_at'])) }),
        (list) => list.length === 0,
      )
    },
  },
})

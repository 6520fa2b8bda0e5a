// A topic's progress: state, the agreed solution, who leads its implementation and how far, its meetings, the
// reply when it was closed, and the resident's rating once it is implemented (不满意 needs a reason).
const api = require('../../utils/api')
const config = require('../../config')
const { withTimes } = require('../../utils/format')
const page = require('../../utils/page')

Component({
  behaviors: [page],
  data: {
    id: null,
    topic: null,
    levels: [
      { value: 'satisfied', label: '满意' },
      { value: 'basic', label: '基本满意' },
      { value: 'unsatisfied', label: '不满意' },
    ],
    level: '',
    reason: '',
    ratingError: '',
    rated: '',
    templates: config.templates.topic,
  },
  methods: {
    onLoad(query) {
      this.setData({ id: query.id })
      this.load()
    },
    load() {
      return this.loadWith(api.topic(this.data.id), (topic) => ({
        topic: Object.assign({}, topic, { meetings: topic.meetings.map((m) => withTimes(m, ['starts_at'])) }),
      }))
    },
    chooseLevel(e) {
      this.setData({ level: e.currentTarget.dataset.level, ratingError: '' })
    },
    onReason(e) {
      this.setData({ reason: e.detail.value })
    },
    rate() {
      const rating = { level: this.data.level || null, reason: this.data.reason || null }
      return api.rateTopic(this.data.id, rating).then(
        (data) => this.setData({ topic: Object.assign({}, data.topic, {
          meetings: data.topic.meetings.map((m) => withTimes(m, ['starts_at'])) }), rated: '感谢您的评价', level: '', reason: '' }),
        (err) => this.setData({ ratingError: err.message }),
      )
    },
  },
})

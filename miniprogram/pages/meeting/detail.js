// A meeting: when and where, its agenda with outcomes, the minutes once held, and registration. An open meeting
// (开放报名) takes anyone of its unit: the scene of the code the resident last scanned shows which unit is theirs.
// The 报名 tap first asks for the meeting's messages (confirmation, reminder, changes), so the confirmation finds
// its subscription recorded.
const api = require('../../utils/api')
const config = require('../../config')
const { time } = require('../../utils/format')
const settings = require('../../utils/settings')
const subscribe = require('../../utils/subscribe')
const page = require('../../utils/page')

Component({
  behaviors: [page],
  data: { id: null, meeting: null, startsText: '', registering: false, registerError: '',     templates: config.templates.meeting },
  methods: {
    onLoad(query) {
      this.setData({ id: query.id })
      this.load()
    },
    load() {
      return this.loadWith(api.meeting(this.data.id), (meeting) => ({ meeting, startsText: time(meeting.starts_at) }))
    },
    register() {
      if (this.data.registering) return Promise.resolve()
      this.setData({ registering: true, registerError: '' })
      const scene = this.data.meeting.open ? settings.lastScene() : ''
      return subscribe.ask(this.data.templates).catch(() => null)
        .then(() => api.register(this.data.id, scene)).then(
        (data) => this.setData({ registering: false, meeting: data.meeting }),
        (err) => this.setData({ registering: false, registerError: err.message }),
      )
    },
  },
})

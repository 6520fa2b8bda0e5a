// Staff bind this WeChat to their account: the 8-digit code from 微信通知 on their staff page (10 minutes, once),
// then their notifications and daily digest reach this WeChat, once they allow them with the button shown after
// binding (three templates a tap).
const api = require('../../utils/api')
const config = require('../../config')
const page = require('../../utils/page')

Component({
  behaviors: [page],
  data: { state: 'ready', bindCode: '', binding: false, bound: null, bindError: '', templates: config.templates.staff },
  methods: {
    onCode(e) {
      this.setData({ bindCode: e.detail.value, bindError: '' })
    },
    bind() {
      if (this.data.binding) return Promise.resolve()
      this.setData({ binding: true, bindError: '' })
      return api.bindStaff(this.data.bindCode).then(
        (data) => this.setData({ binding: false, bound: data.staff }),
        (err) => this.setData({ binding: false, bindError: err.message }),
      )
    },
  },
})

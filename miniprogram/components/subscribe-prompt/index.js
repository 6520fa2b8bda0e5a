// A button that asks to be told on WeChat: each tap asks for the next three templates (WeChat takes at most three
// a call, and only after a tap) and stays while any are left. WeChat's answers go to the backend as they are.
const subscribe = require('../../utils/subscribe')

Component({
  properties: {
    templates: { type: Array, value: [] },
    label: { type: String, value: '接收办理进度通知' },
  },
  data: { pending: [], message: '', accepted: 0 },
  observers: {
    templates(list) {
      this.setData({ pending: (list || []).filter((id, i, all) => id && all.indexOf(id) === i) })
    },
  },
  methods: {
    ask() {
      if (!this.data.pending.length) return Promise.resolve()
      return subscribe.ask(this.data.pending).then(
        (outcome) => {
          const accepted = this.data.accepted + outcome.asked.filter((id) => outcome.results[id] === 'accept').length
          let message = accepted ? '已开启微信消息提醒' : '没有开启提醒，可以再点一次开启'
          if (outcome.failed) message = '没能打开消息订阅，请在微信“设置 → 通知”中允许后再试。'
          else this.setData({ pending: this.data.pending.slice(subscribe.PER_CALL) })
          this.setData({ accepted, message })
          if (!outcome.failed) this.triggerEvent('recorded', { results: outcome.results, left: outcome.left })
        },
        (err) => this.setData({ message: err.message }),
      )
    },
  },
})

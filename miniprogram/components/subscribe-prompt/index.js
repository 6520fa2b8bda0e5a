// Ask to be told on WeChat: wx.requestSubscribeMessage must follow a tap, and WeChat takes at most three
// templates a call, so each tap asks for the next three and the button stays while any are left. WeChat's
// answers go to the backend as they are (POST /subscriptions), which counts what may be sent.
const api = require('../../utils/api')

const PER_TAP = 3
const ANSWERS = ['accept', 'reject', 'ban', 'filter']

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
      const ids = this.data.pending.slice(0, PER_TAP)
      if (!ids.length) return
      wx.requestSubscribeMessage({
        tmplIds: ids,
        success: (res) => {
          this.setData({ pending: this.data.pending.slice(PER_TAP) })
          const results = {}
          ids.forEach((id) => {
            if (ANSWERS.indexOf(res[id]) >= 0) results[id] = res[id]
          })
          if (!Object.keys(results).length) return
          const accepted = ids.filter((id) => results[id] === 'accept').length
          api.recordSubscriptions(results).then(
            (data) => {
              this.setData({
                accepted: this.data.accepted + accepted,
                message: this.data.accepted + accepted ? '已开启微信消息提醒' : '没有开启提醒，可以再点一次开启',
              })
              this.triggerEvent('recorded', { results, left: data.left })
            },
            (err) => this.setData({ message: err.message }),
          )
        },
        fail: () => this.setData({ message: '没能打开消息订阅，请在微信“设置 → 通知”中允许后再试。' }),
      })
    },
  },
})

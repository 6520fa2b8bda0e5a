// The home page: where a scan lands when WeChat opens the mini-program here (it forwards the scan to the report
// page), the resident's own lists, the board of the unit last scanned, and the large-text setting.
const api = require('../../utils/api')
const settings = require('../../utils/settings')
const page = require('../../utils/page')

Component({
  behaviors: [page],
  data: { state: 'ready', hasScene: false },
  methods: {
    onLoad(query) {
      const scan = api.scanOf(query)
      if (scan) {
        const q = scan.link ? `q=${encodeURIComponent(scan.link)}` : `scene=${encodeURIComponent(scan.scene)}`
        wx.redirectTo({ url: `/pages/report/index?${q}` })
        return
      }
      this.setData({ hasScene: Boolean(settings.lastScene()) })
    },
    toggleLarge(e) {
      settings.setLarge(e.detail.value)
      this.applySettings()
    },
  },
})

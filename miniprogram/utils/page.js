// What every page shares (pages are built with Component(), so the same code runs under miniprogram-simulate):
// the large-text setting and the page's state — loading, empty, error (the API's Chinese message) or ready.
const settings = require('./settings')

module.exports = Behavior({
  data: { large: false, state: 'loading', error: '' },
  lifetimes: {
    attached() {
      this.applySettings()
    },
  },
  methods: {
    onShow() {
      this.applySettings()
    },
    applySettings() {
      if (this.data.large !== settings.isLarge()) this.setData({ large: settings.isLarge() })
    },
    // Load with `promise`, then show it (`show(data)` returns the page data) or its error.
    loadWith(promise, show, isEmpty) {
      this.setData({ state: 'loading', error: '' })
      return promise.then(
        (data) => this.setData(Object.assign({ state: isEmpty && isEmpty(data) ? 'empty' : 'ready' }, show(data))),
        (err) => this.setData({ state: 'error', error: err.message }),
      )
    },
  },
})

// A page's state when it is not showing its content: loading, empty (with what is missing) or the API's error.
Component({
  properties: {
    state: { type: String, value: 'loading' },
    message: { type: String, value: '' },
    empty: { type: String, value: '暂无内容' },
  },
  methods: {
    retry() {
      this.triggerEvent('retry')
    },
  },
})

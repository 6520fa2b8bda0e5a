// Report a problem to the unit behind the scanned code: a mini-program code (`scene`) or a poster's plain link
// (`q`, with `scancode_time`). The Idempotency-Key is made once per payload and kept across retries, so a
// resubmission after a lost answer replays the first complaint instead of making a second. The first tap on 提交
// also asks for the messages about this report (at most three), before submitting, so the receipt finds its
// subscription already recorded.
const api = require('../../utils/api')
const config = require('../../config')
const photos = require('../../utils/photos')
const settings = require('../../utils/settings')
const subscribe = require('../../utils/subscribe')
const page = require('../../utils/page')

Component({
  behaviors: [page],
  data: {
    scan: null,
    scene: '',
    unit: null,
    categories: [],
    categoryIndex: -1,
    text: '',
    textCount: 0,
    textLimit: config.textLimit,
    photos: [],
    photoLimit: config.photoLimit,
    location: null,
    phone: '',
    phoneShown: '',
    phoneButton: config.phoneButton,
    submitting: false,
    submitError: '',
    key: '',
    keyFor: '',
    receipt: null,
    templates: config.templates.report,
  },
  methods: {
    onLoad(query) {
      const scan = api.scanOf(query)
      if (!scan) {
        this.setData({ state: 'error', error: '请用微信扫描社区公示牌上的心码来反映问题。' })
        return
      }
      this.setData({ scan })
      this.load()
    },
    load() {
      return this.loadWith(api.resolveScan(this.data.scan), (data) => {
        settings.rememberScene(data.scene)
        return { scene: data.scene, unit: data.unit, categories: data.categories }
      })
    },
    onCategory(e) {
      this.setData({ categoryIndex: Number(e.detail.value) })
    },
    onText(e) {
      const text = e.detail.value
      this.setData({ text, textCount: text.length })
    },
    onPhoneInput(e) {
      this.setData({ phone: e.detail.value, phoneShown: '' })
    },
    onPhone(e) {
      if (!e.detail || !e.detail.code) return // declined: the resident may type a number or leave it empty
      api.phoneNumber(e.detail.code).then(
        (data) => this.setData({ phone: data.phone, phoneShown: data.masked, submitError: '' }),
        (err) => this.setData({ submitError: err.message }),
      )
    },
    addPhotos() {
      return photos.pickAndUpload(this, 'photos', this.data.photoLimit - this.data.photos.length)
    },
    removePhoto(e) {
      photos.remove(this, 'photos', Number(e.currentTarget.dataset.index))
    },
    chooseLocation() {
      wx.chooseLocation({
        success: (res) =>
          this.setData({
            location: { latitude: res.latitude, longitude: res.longitude, address: res.address || res.name || null },
          }),
      })
    },
    clearLocation() {
      this.setData({ location: null })
    },
    payload() {
      const d = this.data
      return {
        scene: d.scene,
        category: d.categoryIndex >= 0 ? d.categories[d.categoryIndex] : null,
        text: d.text,
        phone: d.phone || null,
        location: d.location,
        photos: photos.uploadedIds(d.photos),
      }
    },
    submit() {
      if (this.data.submitting) return Promise.resolve()
      if (photos.busy(this.data.photos)) {
        this.setData({ submitError: '照片还在上传，请稍等。' })
        return Promise.resolve()
      }
      const payload = this.payload()
      const same = JSON.stringify(payload)
      const first = !this.data.key
      const key = this.data.key && this.data.keyFor === same ? this.data.key : api.idempotencyKey()
      this.setData({ submitting: true, submitError: '', key, keyFor: same })
      const asked = first ? subscribe.ask(this.data.templates).catch(() => null) : Promise.resolve(null)
      return asked.then(() => api.submitComplaint(payload, key)).then(
        (complaint) => this.setData({ submitting: false, receipt: complaint, key: '', keyFor: '' }),
        (err) => this.setData({ submitting: false, submitError: err.message }),
      )
    },
  },
})

// One complaint: its state and timeline, where it went (topic, meetings, the triage decision and its referral),
// the notes of both sides, adding a note or a photo while it is open, and rating the answer (回访).
const api = require('../../utils/api')
const config = require('../../config')
const { time, withTimes } = require('../../utils/format')
const photos = require('../../utils/photos')
const page = require('../../utils/page')

const LEVELS = [
  { value: 'satisfied', label: '满意' },
  { value: 'basic', label: '基本满意' },
  { value: 'unsatisfied', label: '不满意' },
]

Component({
  behaviors: [page],
  data: {
    id: null,
    complaint: null,
    followup: null,
    images: [],
    noteText: '',
    noteCount: 0,
    noteLimit: config.noteLimit,
    notePhotos: [],
    noteError: '',
    sending: false,
    levels: LEVELS,
    level: '',
    reason: '',
    ratingError: '',
  },
  methods: {
    onLoad(query) {
      this.setData({ id: query.id })
      this.load()
    },
    load() {
      const id = this.data.id
      return this.loadWith(Promise.all([api.complaint(id), api.complaintRatings(id)]), ([complaint, followup]) => ({
        complaint: Object.assign(withTimes(complaint, ['created_at']), {
          timeline: complaint.timeline.map((s) => withTimes(s, ['at'])),
          notes: complaint.notes.map((n) => withTimes(n, ['at'])),
          meetings: complaint.meetings.map((m) => withTimes(m, ['starts_at'])),
          decisionAt: complaint.decision ? time(complaint.decision.at) : '',
        }),
        followup,
      })).then(() => this.fetchPhotos())
    },
    // Photos need the session: each is fetched by api.downloadPhoto (the thumbnail once the worker made it).
    fetchPhotos() {
      const complaint = this.data.complaint
      if (!complaint) return Promise.resolve()
      return Promise.all(complaint.photos.map((p) =>
        api.downloadPhoto(p.thumbnail_ready ? p.thumbnail_url : p.url).catch(() => null)))
        .then((files) => this.setData({ images: files.filter(Boolean) }))
    },
    onNote(e) {
      this.setData({ noteText: e.detail.value, noteCount: e.detail.value.length })
    },
    addNotePhotos() {
      return photos.pickAndUpload(this, 'notePhotos', config.photoLimit - this.data.notePhotos.length)
    },
    removeNotePhoto(e) {
      photos.remove(this, 'notePhotos', Number(e.currentTarget.dataset.index))
    },
    sendNote() {
      if (this.data.sending) return Promise.resolve()
      if (photos.busy(this.data.notePhotos)) {
        this.setData({ noteError: '照片还在上传，请稍等。' })
        return Promise.resolve()
      }
      this.setData({ sending: true, noteError: '' })
      const note = { text: this.data.noteText || null, photos: photos.uploadedIds(this.data.notePhotos) }
      return api.addNote(this.data.id, note).then(
        () => {
          this.setData({ sending: false, noteText: '', noteCount: 0, notePhotos: [] })
          return this.load()
        },
        (err) => this.setData({ sending: false, noteError: err.message }),
      )
    },
    chooseLevel(e) {
      this.setData({ level: e.currentTarget.dataset.level, ratingError: '' })
    },
    onReason(e) {
      this.setData({ reason: e.detail.value })
    },
    rate() {
      const rating = { level: this.data.level || null, reason: this.data.reason || null }
      return api.rateComplaint(this.data.id, rating).then(
        () => {
          this.setData({ level: '', reason: '' })
          return this.load()
        },
        (err) => this.setData({ ratingError: err.message }),
      )
    },
  },
})

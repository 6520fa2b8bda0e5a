// The public board of the unit behind the code the resident scanned: the open meetings to come (any resident of the
// unit may register) and the decisions and results made public.
// Progress photos need the session: each is fetched by api.downloadPhoto and shown from its temporary file.
const api = require('../../utils/api')
const settings = require('../../utils/settings')
const { withTimes } = require('../../utils/format')
const page = require('../../utils/page')

Component({
  behaviors: [page],
  data: { scene: '', unit: '', meetings: [], publications: [] },
  methods: {
    onLoad(query) {
      const scene = (query && query.scene) || settings.lastScene()
      this.setData({ scene })
      if (!scene) {
        this.setData({ state: 'empty' })
        return
      }
      this.load()
    },
    load() {
      return this.loadWith(
        api.board(this.data.scene),
        (data) => ({
          unit: data.unit,
          meetings: data.meetings.map((m) => withTimes(m, ['starts_at'])),
          publications: data.publications.map((p) => Object.assign({ images: [] }, p)),
        }),
        (data) => data.publications.length === 0 && data.meetings.length === 0,
      ).then(() => this.fetchPhotos())
    },
    fetchPhotos() {
      this.data.publications.forEach((p, i) =>
        p.photos.forEach((path, j) =>
          api.downloadPhoto(path).then(
            (file) => this.setData({ [`publications[${i}].images[${j}]`]: file }),
            () => undefined, // a photo that cannot be fetched is left out; the words stay
          ),
        ),
      )
    },
  },
})

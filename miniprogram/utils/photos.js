// Photos the resident picks: wx.chooseMedia (compressed), then uploaded one after another with their progress.
const api = require('./api')

const LARGE = 1.8 * 1024 * 1024 // the backend refuses 2 MB and more: compress what is still larger

function choose(count) {
  return new Promise((resolve) => {
    wx.chooseMedia({
      count,
      mediaType: ['image'],
      sizeType: ['compressed'],
      sourceType: ['album', 'camera'],
      success: (res) => resolve(res.tempFiles || []),
      fail: () => resolve([]), // the resident closed the picker
    })
  })
}

function shrink(file) {
  if (!file.size || file.size < LARGE) return Promise.resolve(file.tempFilePath)
  return new Promise((resolve) => {
    wx.compressImage({
      src: file.tempFilePath,
      quality: 60,
      success: (res) => resolve(res.tempFilePath),
      fail: () => resolve(file.tempFilePath),
    })
  })
}

// Pick up to `room` photos and upload them in turn; `page.data[key]` is the list the page shows, each
// {path, progress, id, error}. Resolves when all are done (failed ones keep their error and no id).
async function pickAndUpload(page, key, room) {
  if (room <= 0) return
  const files = await choose(room)
  for (const file of files) {
    const path = await shrink(file)
    const list = page.data[key].concat([{ path, progress: 0, id: null, error: '' }])
    const index = list.length - 1
    page.setData({ [key]: list })
    try {
      const photo = await api.uploadPhoto(path, (progress) => page.setData({ [`${key}[${index}].progress`]: progress }))
      page.setData({ [`${key}[${index}].id`]: photo.id, [`${key}[${index}].progress`]: 100 })
    } catch (err) {
      page.setData({ [`${key}[${index}].error`]: err.message })
    }
  }
}

function remove(page, key, index) {
  page.setData({ [key]: page.data[key].filter((_, i) => i !== index) })
}

const uploadedIds = (list) => list.filter((p) => p.id).map((p) => p.id)
const busy = (list) => list.some((p) => !p.id && !p.error)

module.exports = { pickAndUpload, remove, uploadedIds, busy }

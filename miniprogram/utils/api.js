// The one way the mini-program talks to the backend: every page calls these functions, none calls wx.request.
// Each answer is the API's envelope {ok, data} or {ok: false, error: {code, message}}: the functions resolve with
// `data` or reject with an ApiError carrying the stable `code` and the Chinese `message` to show as it is.
// A 401 (no session, expired, revoked) signs in again (wx.login → POST /sessions) and retries once.
const config = require('../config')

const TOKEN_KEY = 'xinma_token'
const NETWORK = '网络连接失败，请检查网络后重试。'
const GARBLED = '服务暂时不可用，请稍后再试。'

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

function base() {
  return config.apiBase.replace(/\/+$/, '')
}

function header(res, name) {
  const headers = res.header || {}
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase())
  return key === undefined ? undefined : headers[key]
}

// The envelope's data, or the ApiError it describes.
function unwrap(res) {
  let body = res.data
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body)
    } catch (e) {
      body = null
    }
  }
  if (!body || typeof body !== 'object' || typeof body.ok !== 'boolean') {
    throw new ApiError(res.statusCode, 'bad_response', GARBLED)
  }
  if (body.ok && res.statusCode < 400) return body.data
  const error = body.error || {}
  const retryAfter = Number(header(res, 'Retry-After')) || undefined
  throw new ApiError(res.statusCode, error.code || 'bad_response', error.message || GARBLED, retryAfter)
}

function send(method, path, data, headers) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: base() + path,
      method,
      data,
      header: Object.assign({ 'content-type': 'application/json' }, headers),
      success: resolve,
      fail: () => reject(new ApiError(0, 'network_error', NETWORK)),
    })
  })
}

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res && res.code ? resolve(res.code) : reject(new ApiError(0, 'login_failed', NETWORK))),
      fail: () => reject(new ApiError(0, 'login_failed', NETWORK)),
    })
  })
}

let signingIn = null

// wx.login → POST /sessions; the backend's own token is kept in storage. Concurrent callers share one sign-in.
function signIn() {
  if (!signingIn) {
    signingIn = wxLogin()
      .then((code) => send('POST', '/sessions', { code }))
      .then(unwrap)
      .then((data) => {
        wx.setStorageSync(TOKEN_KEY, data.token)
        return data.token
      })
      .finally(() => {
        signingIn = null
      })
  }
  return signingIn
}

function token() {
  const stored = wx.getStorageSync(TOKEN_KEY)
  return stored ? Promise.resolve(stored) : signIn()
}

// Retry once with a new session when the backend answers 401.
async function withSession(attempt) {
  const first = await attempt(await token())
  if (first.statusCode !== 401) return unwrap(first)
  wx.removeStorageSync(TOKEN_KEY)
  return unwrap(await attempt(await signIn()))
}

function call(method, path, data, headers) {
  return withSession((t) => send(method, path, data, Object.assign({ Authorization: `Bearer ${t}` }, headers)))
}

function anonymous(method, path, data) {
  return send(method, path, data, {}).then(unwrap)
}

const enc = encodeURIComponent

// A key for one submission, kept by the page across its retries (the backend replays the first answer).
function idempotencyKey() {
  return `c-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`
}

// The launch options' query of a scan: `scene` (a mini-program code) or `q` (a plain-link poster, the whole URL
// encoded once more by WeChat). Returns {scene} or {link}, or null when the page was not opened by a scan.
function scanOf(query) {
  if (!query) return null
  const decode = (v) => {
    try {
      return decodeURIComponent(v)
    } catch (e) {
      return v
    }
  }
  if (query.q) return { link: decode(query.q) }
  if (query.scene) return { scene: decode(query.scene) }
  return null
}

// The unit and categories behind a scan; both kinds of code, resolved by the backend.
function resolveScan(scan) {
  if (scan.link) return anonymous('GET', `/scenes?q=${enc(scan.link)}`)
  return anonymous('GET', `/scenes/${enc(scan.scene)}`)
}

// One photo through wx.uploadFile, reporting progress (0–100); resolves with the stored photo {id, …}.
function uploadPhoto(filePath, onProgress) {
  const attempt = (t) =>
    new Promise((resolve, reject) => {
      const task = wx.uploadFile({
        url: `${base()}/photos`,
        filePath,
        name: 'file',
        header: { Authorization: `Bearer ${t}` },
        success: resolve,
        fail: () => reject(new ApiError(0, 'network_error', NETWORK)),
      })
      if (task && onProgress && task.onProgressUpdate) task.onProgressUpdate((p) => onProgress(p.progress))
    })
  return withSession(attempt)
}

// A photo that needs the session (wx.downloadFile with the header); resolves with the temporary file path.
function downloadPhoto(path) {
  const url = /^https?:/.test(path) ? path : base().replace(/\/api\/v1$/, '') + path
  const attempt = (t) =>
    new Promise((resolve, reject) => {
      wx.downloadFile({
        url,
        header: { Authorization: `Bearer ${t}` },
        success: (res) =>
          resolve({ statusCode: res.statusCode, data: res.statusCode < 400 ? { ok: true, data: res.tempFilePath } : null }),
        fail: () => reject(new ApiError(0, 'network_error', NETWORK)),
      })
    })
  return withSession(attempt)
}

// The staff page: this WeChat user (a fresh wx.login code) bound to the account whose 8-digit code was typed.
function bindStaff(bindCode) {
  return wxLogin().then((code) => anonymous('POST', '/staff-bindings', { code, bind_code: bindCode }))
}

function signOut() {
  if (!wx.getStorageSync(TOKEN_KEY)) return Promise.resolve()
  return send('DELETE', '/sessions/current', undefined, { Authorization: `Bearer ${wx.getStorageSync(TOKEN_KEY)}` })
    .then(() => undefined, () => undefined)
    .finally(() => wx.removeStorageSync(TOKEN_KEY))
}

module.exports = {
  ApiError,
  TOKEN_KEY,
  signIn,
  idempotencyKey,
  scanOf,
  resolveScan,
  uploadPhoto,
  downloadPhoto,
  signOut,
  bindStaff,
  submitComplaint: (payload, key) => call('POST', '/complaints', payload, { 'Idempotency-Key': key }),
  phoneNumber: (code) => call('POST', '/phone', { code }),
  myComplaints: () => call('GET', '/complaints'),
  complaint: (id) => call('GET', `/complaints/${enc(id)}`),
  addNote: (id, note) => call('POST', `/complaints/${enc(id)}/notes`, note),
  complaintRatings: (id) => call('GET', `/complaints/${enc(id)}/ratings`),
  rateComplaint: (id, rating) => call('POST', `/complaints/${enc(id)}/ratings`, rating),
  subscriptions: () => call('GET', '/subscriptions'),
  recordSubscriptions: (results) => call('POST', '/subscriptions', { results }),
  myTopics: () => call('GET', '/my/topics'),
  topic: (id) => call('GET', `/topics/${enc(id)}`),
  rateTopic: (id, rating) => call('POST', `/topics/${enc(id)}/ratings`, rating),
  myMeetings: () => call('GET', '/my/meetings'),
  meeting: (id) => call('GET', `/meetings/${enc(id)}`),
  register: (id, scene) => call('POST', `/meetings/${enc(id)}/registrations`, scene ? { scene } : {}),
  board: (scene) => call('GET', `/boards/${enc(scene)}`),
}

// `wx` for Node, backed by real HTTP: what WeChat's client does for the mini-program, with the WeChat sandbox
// playing WeChat (wx.login codes, the subscribe popup, the getPhoneNumber button). Used by the walk only.
const fs = require('fs')
const os = require('os')
const path = require('path')

function headersOf(res) {
  const out = {}
  res.headers.forEach((value, key) => {
    out[key] = value
  })
  return out
}

async function bodyOf(res) {
  const text = await res.text()
  if ((res.headers.get('content-type') || '').includes('json')) {
    try {
      return JSON.parse(text)
    } catch (e) {
      return text
    }
  }
  return text
}

function makeWx({ sandbox, openid, log }) {
  const storage = new Map()
  const control = async (method, p, body) => {
    const res = await fetch(sandbox + p, {
      method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
    })
    if (res.status >= 400) throw new Error(`sandbox ${p}: ${res.status} ${await res.text()}`)
    return res.json()
  }
  const settle = (promise, success, fail) =>
    promise.then((r) => success && success(r), (e) => {
      if (log) log(`wx call failed: ${e.message}`)
      if (fail) fail({ errMsg: `fail ${e.message}` })
    })

  return {
    calls: [],
    storage,
    getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k, v) => storage.set(k, v),
    removeStorageSync: (k) => storage.delete(k),

    request({ url, method = 'GET', data, header = {}, success, fail }) {
      this.calls.push({ api: 'request', method, url })
      const init = { method, headers: header }
      if (data !== undefined && method !== 'GET') init.body = JSON.stringify(data)
      settle((async () => {
        const res = await fetch(url, init)
        return { statusCode: res.status, header: headersOf(res), data: await bodyOf(res) }
      })(), success, fail)
    },

    uploadFile({ url, filePath, name, header = {}, success, fail }) {
      this.calls.push({ api: 'uploadFile', method: 'POST', url })
      const listeners = []
      settle((async () => {
        const form = new FormData()
        form.append(name, new Blob([fs.readFileSync(filePath)]), path.basename(filePath))
        const res = await fetch(url, { method: 'POST', headers: header, body: form })
        listeners.forEach((f) => f({ progress: 100, totalBytesSent: 1, totalBytesExpectedToSend: 1 }))
        return { statusCode: res.status, data: await res.text() } // uploadFile answers the body as a string
      })(), success, fail)
      return { onProgressUpdate: (f) => listeners.push(f) }
    },

    downloadFile({ url, header = {}, success, fail }) {
      this.calls.push({ api: 'downloadFile', method: 'GET', url })
      settle((async () => {
        const res = await fetch(url, { headers: header })
        const file = path.join(os.tmpdir(), `wx-download-${Date.now()}-${Math.random().toString(36).slice(2)}`)
        fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()))
        return { statusCode: res.status, tempFilePath: file }
      })(), success, fail)
    },

    // wx.login: WeChat (the sandbox) issues a single-use code for this user.
    login({ success, fail }) {
      settle(control('POST', '/_sandbox/login', { openid }).then((r) => ({ code: r.code, errMsg: 'login:ok' })),
        success, fail)
    },

    // The subscribe popup, every template allowed; WeChat refuses more than three at a time (errCode 20003).
    requestSubscribeMessage({ tmplIds, success, fail }) {
      if (!tmplIds.length || tmplIds.length > 3) {
        if (fail) fail({ errMsg: 'requestSubscribeMessage:fail', errCode: 20003 })
        return
      }
      settle(control('POST', '/_sandbox/subscribe', { openid, template_ids: tmplIds })
        .then((r) => Object.assign({ errMsg: 'requestSubscribeMessage:ok' }, r.result)), success, fail)
    },

    // What WeChat gives the getPhoneNumber button's handler (e.detail) when the resident allows.
    phoneButtonDetail: (phone) =>
      control('POST', '/_sandbox/phone_code', { openid, phone }).then((r) => ({ code: r.code })),

    // What WeChat has delivered to this user (the sandbox's inbox).
    messages: () => control('GET', `/_sandbox/messages?openid=${encodeURIComponent(openid)}`).then((r) => r.messages),
  }
}

module.exports = { makeWx }

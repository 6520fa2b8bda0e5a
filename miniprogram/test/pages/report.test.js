// The report page: entry from both kinds of code, the form, photos one by one, the phone button, and the
// Idempotency-Key kept across retries of the same report.
const { render, mockWx, ok, refused, settle, all, text, shown, tap } = require('./helpers')

const { SCENE, COMPLAINT } = require('./fixtures')

const RECEIPT = { ...COMPLAINT, id: 42, state: 'submitted', state_label: '已提交', phone: '139****5678' }

function open(query, answers) {
  const mocked = mockWx(answers)
  const page = render('pages/report/index')
  page.instance.onLoad(query)
  return { page, ...mocked }
}

function fill(page) {
  page.instance.onCategory({ detail: { value: '0' } })
  page.instance.onText({ detail: { value: '路灯坏了半个月' } })
}

test('a mini-program code: loading, then the unit and the categories; the scene is remembered', async () => {
  const { page, requests, storage } = open({ scene: 'tok-1' }, [ok(SCENE)])
  expect(text(page, 'status')).toBe('正在加载…')
  await settle()
  expect(requests[0].url).toBe('https://xinma.example.gov.cn/api/v1/scenes/tok-1')
  expect(text(page, 'unit')).toContain('梁堂村第一网格')
  expect(text(page, 'picker')).toBe('问题类别：请选择')
  expect(storage.get('xinma_scene')).toBe('tok-1')
})

test('a plain-link poster: q, decoded once, is sent for the backend to find the scene in', async () => {
  const link = 'https://xinma.example.gov.cn/q/tok-1'
  const { page, requests } = open({ q: encodeURIComponent(link), scancode_time: '1765000000' }, [ok(SCENE)])
  await settle()
  expect(requests[0].url).toBe(`https://xinma.example.gov.cn/api/v1/scenes?q=${encodeURIComponent(link)}`)
  expect(page.data.scene).toBe('tok-1')
})

test('opened without a scan, it says how to report', async () => {
  const { page, requests } = open({}, [])
  await settle()
  expect(text(page, 'message')).toBe('请用微信扫描社区公示牌上的心码来反映问题。')
  expect(requests).toHaveLength(0)
})

test("a replaced code shows the API's message", async () => {
  const { page } = open({ scene: 'old' }, [refused(410, 'scene_revoked', '这个二维码已被更换，请扫描公示牌上的新码。')])
  await settle()
  expect(text(page, 'message')).toBe('这个二维码已被更换，请扫描公示牌上的新码。')
})

test('the text counts its characters', async () => {
  const { page } = open({ scene: 'tok-1' }, [ok(SCENE)])
  await settle()
  page.instance.onText({ detail: { value: '路灯坏了' } })
  expect(text(page, 'count')).toBe('4/1000')
})

test('submit: the first tap asks for three messages and records them, then submits; the receipt', async () => {
  const { page, requests } = open({ scene: 'tok-1' }, [ok(SCENE), ok({ left: {} }, 201), ok(RECEIPT, 201)])
  await settle()
  wx.requestSubscribeMessage = jest.fn(({ tmplIds, success }) =>
    success(Object.fromEntries(tmplIds.map((id) => [id, 'accept']))))
  fill(page)
  tap(page, 'submit')
  await settle()
  expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['xinma-complaint-received', 'xinma-complaint-triaged', 'xinma-topic-approved'])
  expect(requests[1].url).toMatch(/\/subscriptions$/)
  expect(requests[1].data).toEqual({ results: { 'xinma-complaint-received': 'accept', 'xinma-complaint-triaged': 'accept', 'xinma-topic-approved': 'accept' } })
  const sent = requests[2]
  expect(sent.method).toBe('POST')
  expect(sent.url).toMatch(/\/complaints$/)
  expect(sent.data).toEqual({ scene: 'tok-1', category: '设施维修', text: '路灯坏了半个月', phone: null, location: null, photos: [] })
  expect(sent.header['Idempotency-Key']).toMatch(/^c-\d+-[a-z0-9]+$/)
  expect(text(page, 'receipt')).toContain('编号 42')
  expect(text(page, 'receipt')).toContain('139****5678')
})

test('a failed submission keeps its Idempotency-Key for the retry; a changed report gets a new one', async () => {
  const { page, requests } = open({ scene: 'tok-1' }, [ok(SCENE), null, null, ok(RECEIPT, 201)])
  await settle()
  fill(page)
  tap(page, 'submit')
  await settle()
  expect(text(page, 'submit-error')).toBe('网络连接失败，请检查网络后重试。')
  expect(text(page, 'submit')).toBe('重新提交')
  tap(page, 'submit')
  await settle()
  expect(requests[2].header['Idempotency-Key']).toBe(requests[1].header['Idempotency-Key'])
  page.instance.onText({ detail: { value: '路灯坏了一个月' } })
  tap(page, 'submit')
  await settle()
  expect(requests[3].header['Idempotency-Key']).not.toBe(requests[1].header['Idempotency-Key'])
  expect(all(page, 'receipt')).toHaveLength(1)
  expect(wx.requestSubscribeMessage).toHaveBeenCalledTimes(1) // asked on the first tap only
})

test("a refusal shows the API's Chinese message and keeps the form", async () => {
  const { page } = open({ scene: 'tok-1' }, [ok(SCENE), refused(400, 'category_unknown', '请选择一个问题类别。')])
  await settle()
  page.instance.onText({ detail: { value: '路灯坏了' } })
  tap(page, 'submit')
  await settle()
  expect(text(page, 'submit-error')).toBe('请选择一个问题类别。')
  expect(page.data.text).toBe('路灯坏了')
})

test('photos: compressed, uploaded one by one with their progress, their ids submitted', async () => {
  const { page, requests } = open({ scene: 'tok-1' }, [ok(SCENE), ok(RECEIPT, 201)])
  await settle()
  const uploads = []
  wx.chooseMedia = jest.fn(({ success }) =>
    success({ tempFiles: [{ tempFilePath: 'wxfile://a.jpg', size: 100 }, { tempFilePath: 'wxfile://b.jpg', size: 3000000 }] }))
  wx.compressImage = jest.fn(({ src, success }) => success({ tempFilePath: `${src}.small` }))
  wx.uploadFile = jest.fn((options) => {
    uploads.push(options)
    const listeners = []
    setTimeout(() => {
      listeners.forEach((f) => f({ progress: 50 }))
      expect(page.data.photos[uploads.length - 1].progress).toBe(50)
      options.success({ statusCode: 201, data: JSON.stringify({ ok: true, data: { id: 100 + uploads.length } }) })
    }, 0)
    return { onProgressUpdate: (f) => listeners.push(f) }
  })
  await page.instance.addPhotos()
  expect(wx.chooseMedia.mock.calls[0][0]).toMatchObject({ count: 6, mediaType: ['image'], sizeType: ['compressed'] })
  expect(uploads.map((u) => u.filePath)).toEqual(['wxfile://a.jpg', 'wxfile://b.jpg.small'])
  expect(uploads[0].header.Authorization).toBe('Bearer token-1')
  expect(text(page, 'add-photo')).toBe('添加照片（2/6）')
  fill(page)
  tap(page, 'submit')
  await settle()
  expect(requests[1].data.photos).toEqual([101, 102])
})

test('a photo the API refuses shows its message and is not submitted', async () => {
  const { page } = open({ scene: 'tok-1' }, [ok(SCENE)])
  await settle()
  wx.chooseMedia = jest.fn(({ success }) => success({ tempFiles: [{ tempFilePath: 'wxfile://a.gif', size: 100 }] }))
  wx.uploadFile = jest.fn((options) => {
    setTimeout(() => options.success({ statusCode: 415, data: JSON.stringify({ ok: false, error: { code: 'photo_type', message: '只能上传 JPEG、PNG 或 WEBP 照片。' } }) }), 0)
    return {}
  })
  await page.instance.addPhotos()
  expect(shown(page)).toContain('只能上传 JPEG、PNG 或 WEBP 照片。')
  expect(page.instance.payload().photos).toEqual([])
})

test("the phone button: the resident's number filled in, shown masked", async () => {
  const { page, requests } = open({ scene: 'tok-1' }, [ok(SCENE), ok({ phone: '13912345678', masked: '139****5678' })])
  await settle()
  page.instance.onPhone({ detail: { code: 'phone-code' } })
  await settle()
  expect(requests[1].url).toMatch(/\/phone$/)
  expect(requests[1].data).toEqual({ code: 'phone-code' })
  expect(page.data.phone).toBe('13912345678')
  expect(text(page, 'phone-shown')).toBe('将使用微信绑定的手机号 139****5678')
  page.instance.onPhone({ detail: { errMsg: 'getPhoneNumber:fail user deny' } })
  await settle()
  expect(requests).toHaveLength(2)
})

test('a location picked on the map is sent with the report', async () => {
  const { page, requests } = open({ scene: 'tok-1' }, [ok(SCENE), ok(RECEIPT, 201)])
  await settle()
  wx.chooseLocation = jest.fn(({ success }) => success({ latitude: 34.2, longitude: 117.1, address: '梁堂村3组', name: '' }))
  page.instance.chooseLocation()
  expect(text(page, 'location')).toContain('梁堂村3组')
  fill(page)
  tap(page, 'submit')
  await settle()
  expect(requests[1].data.location).toEqual({ latitude: 34.2, longitude: 117.1, address: '梁堂村3组' })
})

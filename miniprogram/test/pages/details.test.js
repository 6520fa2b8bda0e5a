// One complaint, one topic, one meeting: their states, and what the resident does there (a note with a photo,
// the rating, the registration).
const { render, mockWx, ok, refused, settle, all, text, shown, tap } = require('./helpers')

const { COMPLAINT, TOPIC: APPROVED, MEETING, MEETING_BRIEF } = require('./fixtures')

const SOLVED = {
  ...COMPLAINT, state: 'solved', state_label: '已解决', can_add_note: false, reply: '已联系供电所修好',
  decision: { action: 'solve', label: '网格内解决', at: '2026-12-07T09:00:00+08:00', reason_code: null, reason_label: null, referral: null, referral_label: null },
}
const NO_RATING = { complaint_id: 7, state: 'awaiting_triage', can_rate: false, my_ratings: [] }
const OPEN_RATING = { complaint_id: 7, state: 'solved', can_rate: true, my_ratings: [] }

function open(pagePath, query, answers) {
  const mocked = mockWx(answers)
  const page = render(pagePath)
  page.instance.onLoad(query)
  return { page, ...mocked }
}

describe('pages/complaint/detail', () => {
  test('loading, then the complaint with its timeline', async () => {
    const { page, requests } = open('pages/complaint/detail', { id: '7' }, [ok(COMPLAINT), ok(NO_RATING)])
    expect(text(page, 'status')).toBe('正在加载…')
    await settle()
    expect(requests.map((r) => r.url.replace(/^.*\/api\/v1/, ''))).toEqual(['/complaints/7', '/complaints/7/ratings'])
    expect(text(page, 'state')).toBe('已受理，等待分拣')
    expect(all(page, 'step').map((n) => n.textContent.replace(/\s+/g, ''))).toEqual(['2026-12-0613:31您的反映已提交', '2026-12-0613:31已受理，等待网格员分拣'])
    expect(all(page, 'rating')).toHaveLength(0)
  })

  test('its photos are fetched with the session, the thumbnail once it is ready', async () => {
    const photos = [{ id: 1, url: '/api/v1/photos/1', thumbnail_url: '/api/v1/photos/1/thumbnail', thumbnail_ready: true },
      { id: 2, url: '/api/v1/photos/2', thumbnail_url: '/api/v1/photos/2/thumbnail', thumbnail_ready: false }]
    const { page } = open('pages/complaint/detail', { id: '7' }, [ok({ ...COMPLAINT, photos }), ok(NO_RATING)])
    const fetched = []
    wx.downloadFile = jest.fn((o) => {
      fetched.push([o.url, o.header.Authorization])
      setTimeout(() => o.success({ statusCode: 200, tempFilePath: `wxfile://tmp/${fetched.length}` }), 0)
    })
    await settle()
    expect(fetched).toEqual([['https://xinma.example.gov.cn/api/v1/photos/1/thumbnail', 'Bearer token-1'],
      ['https://xinma.example.gov.cn/api/v1/photos/2', 'Bearer token-1']])
    expect(all(page, 'thumb')).toHaveLength(2)
  })

  test("someone else's complaint: the API's 404 message", async () => {
    const { page } = open('pages/complaint/detail', { id: '8' }, [refused(404, 'complaint_not_found', '没有找到这条反映。'), ok(NO_RATING)])
    await settle()
    expect(text(page, 'message')).toBe('没有找到这条反映。')
  })

  test('adding a note with a photo, then the complaint again', async () => {
    const withNote = { ...COMPLAINT, notes: [{ id: 1, author: 'resident', text: '晚上七点以后整条路都是黑的', at: '2026-12-06T20:00:00+08:00', photos: [] }] }
    const { page, requests } = open('pages/complaint/detail', { id: '7' }, [ok(COMPLAINT), ok(NO_RATING), ok(withNote, 201), ok(withNote), ok(NO_RATING)])
    await settle()
    wx.chooseMedia = jest.fn(({ success }) => success({ tempFiles: [{ tempFilePath: 'wxfile://n.jpg', size: 10 }] }))
    wx.uploadFile = jest.fn((o) => {
      setTimeout(() => o.success({ statusCode: 201, data: JSON.stringify({ ok: true, data: { id: 55 } }) }), 0)
      return {}
    })
    page.instance.onNote({ detail: { value: '晚上七点以后整条路都是黑的' } })
    await page.instance.addNotePhotos()
    tap(page, 'send-note')
    await settle()
    expect(requests[2]).toMatchObject({ method: 'POST', data: { text: '晚上七点以后整条路都是黑的', photos: [55] } })
    expect(requests[2].url).toMatch(/\/complaints\/7\/notes$/)
    expect(text(page, 'notes')).toContain('我 · 2026-12-06 20:00')
    expect(page.data.notePhotos).toEqual([])
  })

  test('a note refused once the complaint is decided shows why', async () => {
    const { page } = open('pages/complaint/detail', { id: '7' }, [ok(COMPLAINT), ok(NO_RATING), refused(409, 'complaint_closed', '这条反映已经办结，不能再补充。')])
    await settle()
    page.instance.onNote({ detail: { value: '还有' } })
    tap(page, 'send-note')
    await settle()
    expect(text(page, 'note-error')).toBe('这条反映已经办结，不能再补充。')
  })

  test('a solved complaint: the decision, the reply, and the rating', async () => {
    const rated = { ...OPEN_RATING, can_rate: false, my_ratings: [{ round: 1, level: 'basic', label: '基本满意', reason: '有点暗' }] }
    const { page, requests } = open('pages/complaint/detail', { id: '7' }, [ok(SOLVED), ok(OPEN_RATING), ok({ id: 1, round: 1, level: 'basic', complaint: rated }, 201), ok(SOLVED), ok(rated)])
    await settle()
    expect(text(page, 'decision')).toContain('分拣结果：网格内解决')
    expect(text(page, 'decision')).toContain('已联系供电所修好')
    expect(all(page, 'add-note')).toHaveLength(0)
    expect(text(page, 'levels')).toBe('满意基本满意不满意')
    page.instance.chooseLevel({ currentTarget: { dataset: { level: 'basic' } } })
    page.instance.onReason({ detail: { value: '有点暗' } })
    tap(page, 'rate')
    await settle()
    expect(requests[2].data).toEqual({ level: 'basic', reason: '有点暗' })
    expect(all(page, 'rating')).toHaveLength(0)
    expect(text(page, 'my-ratings')).toContain('第 1 轮：基本满意 有点暗')
  })
})

const TOPIC = {
  ...APPROVED, state: 'implemented', state_label: '已落实', solution: '更换6盏路灯', can_rate: true,
  assignment: { lead: '书记·王书记', due_on: '2026-12-20', percent: 100 }, state_changed_at: '2026-12-10T10:00:00+08:00',
  meetings: [{ ...MEETING_BRIEF, state: 'held', state_label: '已召开' }],
}

describe('pages/topic/detail', () => {
  test('loading, then progress, meetings and the rating', async () => {
    const { page } = open('pages/topic/detail', { id: '3' }, [ok(TOPIC)])
    expect(text(page, 'status')).toBe('正在加载…')
    await settle()
    expect(text(page, 'assignment')).toBe('领办：书记·王书记，2026-12-20 前完成，进度 100%')
    expect(text(page, 'meeting')).toContain('2026-12-08 19:00')
    expect(all(page, 'rating')).toHaveLength(1)
  })

  test("不满意 without a reason: the API's message; with one, the topic goes back to work", async () => {
    const reopened = { ...TOPIC, state: 'implementing', state_label: '正在落实', can_rate: false, my_ratings: [{ round: 1, level: 'unsatisfied', label: '不满意', reason: '还有一盏不亮' }] }
    const { page, requests } = open('pages/topic/detail', { id: '3' }, [ok(TOPIC), refused(400, 'rating_reason_required', '选择“不满意”时请写明原因。'), ok({ id: 1, round: 1, level: 'unsatisfied', topic: reopened }, 201)])
    await settle()
    page.instance.chooseLevel({ currentTarget: { dataset: { level: 'unsatisfied' } } })
    tap(page, 'rate')
    await settle()
    expect(text(page, 'rating-error')).toBe('选择“不满意”时请写明原因。')
    page.instance.onReason({ detail: { value: '还有一盏不亮' } })
    tap(page, 'rate')
    await settle()
    expect(requests[2].data).toEqual({ level: 'unsatisfied', reason: '还有一盏不亮' })
    expect(text(page, 'state')).toBe('正在落实')
    expect(text(page, 'rated')).toBe('感谢您的评价')
  })

  test("the page's button asks for its four templates in two taps: three, then one", async () => {
    const { page, requests } = open('pages/topic/detail', { id: '3' }, [ok(TOPIC), ok({ left: {} }, 201), ok({ left: {} }, 201)])
    await settle()
    wx.requestSubscribeMessage = jest.fn(({ tmplIds, success }) => success(Object.fromEntries(tmplIds.map((id) => [id, 'accept']))))
    tap(page, 'ask')
    await settle()
    tap(page, 'ask')
    await settle()
    expect(wx.requestSubscribeMessage.mock.calls.map((c) => c[0].tmplIds)).toEqual([
      ['xinma-topic-progress', 'xinma-meeting-invitation', 'xinma-rating-requested'], ['xinma-topic-published']])
    expect(requests.slice(1).map((r) => Object.keys(r.data.results).length)).toEqual([3, 1])
    expect(all(page, 'ask')).toHaveLength(0)
    expect(text(page, 'subscribe')).toBe('已开启微信消息提醒')
  })

  test('a topic not behind the resident: 404', async () => {
    const { page } = open('pages/topic/detail', { id: '9' }, [refused(404, 'topic_not_found', '没有找到这个议题。')])
    await settle()
    expect(text(page, 'message')).toBe('没有找到这个议题。')
  })
})

describe('pages/meeting/detail', () => {
  test('loading, then the meeting; registering sends the scanned scene of an open meeting', async () => {
    const registered = { ...MEETING, registered: true, can_register: false, places_left: 26 }
    const { page, requests, storage } = open('pages/meeting/detail', { id: '5' }, [ok(MEETING), ok({ id: 9, meeting: registered }, 201)])
    storage.set('xinma_scene', 'tok-1')
    expect(text(page, 'status')).toBe('正在加载…')
    await settle()
    expect(shown(page)).toContain('时间：2026-12-08 19:00')
    expect(shown(page)).toContain('剩余 27 个名额')
    tap(page, 'register')
    await settle()
    expect(requests[1]).toMatchObject({ method: 'POST', data: { scene: 'tok-1' } })
    expect(text(page, 'registered')).toBe('您已报名，请准时参加。')
    expect(all(page, 'register')).toHaveLength(0)
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['xinma-meeting-registered', 'xinma-meeting-reminder', 'xinma-meeting-changed'])
  })

  test("a full meeting: the API's message", async () => {
    const { page, requests } = open('pages/meeting/detail', { id: '5' }, [ok({ ...MEETING, open: false }), refused(409, 'registration_full', '报名人数已满。')])
    await settle()
    tap(page, 'register')
    await settle()
    expect(requests[1].data).toEqual({})
    expect(text(page, 'register-error')).toBe('报名人数已满。')
  })

  test("a meeting that does not concern the resident: the API's 404 message", async () => {
    const { page } = open('pages/meeting/detail', { id: '6' }, [refused(404, 'meeting_not_found', '没有找到这次议事会。')])
    expect(text(page, 'status')).toBe('正在加载…')
    await settle()
    expect(text(page, 'message')).toBe('没有找到这次议事会。')
    expect(all(page, 'register')).toHaveLength(0)
  })

  test('a cancelled meeting shows its reason and no registration', async () => {
    const { page } = open('pages/meeting/detail', { id: '5' }, [ok({ ...MEETING, state: 'cancelled', state_label: '已取消', can_register: false, cancel_reason: '暴雨' })])
    await settle()
    expect(shown(page)).toContain('已取消：暴雨')
    expect(all(page, 'register')).toHaveLength(0)
  })
})

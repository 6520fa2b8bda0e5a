// A resident's walk through the mini-program's API module against a REAL backend and the WeChat sandbox:
// scan → report with a photo → receipt → triage result → topic → meeting registration → rating.
// Started by tests/miniprogram/test_api_walk.py, which runs the backend, the sandbox and a worker and does the
// staff's steps when asked: this script writes `@@staff {json}` lines to stdout and reads one JSON line back.
// Environment: XINMA_API_BASE, XINMA_SANDBOX_URL, XINMA_POSTER_LINK, XINMA_WALK_PHOTO, XINMA_WALK_OPENID.
// It fails (exit 1) when an answer lacks what a page reads (test/contract.js) or the flow changes.
const assert = require('node:assert/strict')
const readline = require('node:readline')
const { makeWx } = require('./wx-node')
const { check, shapes, operations } = require('../contract')

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set`)
  return process.env[name]
}
const API = env('XINMA_API_BASE')
const config = require('../../config')

config.apiBase = API
const log = (...args) => console.error('[walk]', ...args)
const device = makeWx({ sandbox: env('XINMA_SANDBOX_URL'), openid: env('XINMA_WALK_OPENID'), log })
global.wx = device
const api = require('../../utils/api')
const subscribe = require('../../utils/subscribe')

const lines = readline.createInterface({ input: process.stdin })
const waiting = []
lines.on('line', (line) => waiting.length && waiting.shift()(line))

// Ask the wrapper to do a staff step; resolves with its JSON answer.
function staff(step, args = {}) {
  log(`staff: ${step}`)
  return new Promise((resolve, reject) => {
    waiting.push((line) => {
      const answer = JSON.parse(line)
      return answer.error ? reject(new Error(`staff step ${step}: ${answer.error}`)) : resolve(answer)
    })
    process.stdout.write(`@@staff ${JSON.stringify({ step, ...args })}\n`)
  })
}

function shaped(name, value) {
  assert.deepEqual(check(value, shapes[name], name), [], `the answer no longer has what the pages read (${name})`)
  return value
}

async function eventually(what, probe, seconds = 30) {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

const received = (templateId, count = 1) =>
  eventually(`${count} × ${templateId} on the resident's WeChat`, async () => {
    const got = (await device.messages()).filter((m) => m.template_id === templateId)
    return got.length >= count ? got : null
  })

async function main() {
  // The served contract still has every operation the API module calls.
  const doc = await (await fetch(`${API}/openapi.json`)).json()
  assert.deepEqual(operations.filter(([m, p]) => !(doc.paths[p] && doc.paths[p][m])), [], 'operations gone from the API')

  // 1. Scan: a poster's plain link opens the report page with q (the link encoded once more) and scancode_time.
  const link = env('XINMA_POSTER_LINK')
  const scan = api.scanOf({ q: encodeURIComponent(link), scancode_time: String(Math.floor(Date.now() / 1000)) })
  const unit = shaped('scene', await api.resolveScan(scan))
  assert.equal(unit.unit.name, '梁堂村第一网格')
  assert.ok(unit.categories.includes('设施维修'))
  const byCode = shaped('scene', await api.resolveScan(api.scanOf({ scene: encodeURIComponent(unit.scene) })))
  assert.equal(byCode.unit.full_name, unit.unit.full_name) // a mini-program code reaches the same unit
  await assert.rejects(api.resolveScan({ link: 'https://elsewhere.example/q/abc' }),
    (e) => shaped('error', e) && e.code === 'scene_link_foreign' && /[\u4e00-\u9fff]/.test(e.message))

  // 2. Report with a photo: the upload signs in first (wx.login → POST /sessions), then progress to 100.
  const progress = []
  const photo = shaped('photo', await api.uploadPhoto(env('XINMA_WALK_PHOTO'), (p) => progress.push(p)))
  assert.deepEqual(progress, [100])
  assert.ok(device.getStorageSync(api.TOKEN_KEY), 'signed in')
  const number = shaped('phone', await api.phoneNumber((await device.phoneButtonDetail('13912345678')).code))
  assert.equal(number.masked, '139****5678')
  const asked = await subscribe.ask(config.templates.report) // the 提交 tap: three templates at most
  assert.deepEqual(asked.asked, config.templates.report.slice(0, 3))
  shaped('subscriptionsRecorded', { left: asked.left })
  const payload = {
    scene: unit.scene, category: '设施维修', text: '梁堂村3组路灯坏了半个月，晚上出行很不安全', phone: number.phone,
    location: { latitude: 34.2612, longitude: 117.1846, address: '梁堂村3组' }, photos: [photo.id],
  }
  const key = api.idempotencyKey()
  const complaint = shaped('complaint', await api.submitComplaint(payload, key))
  assert.equal(complaint.phone, '139****5678')
  assert.equal(complaint.location.address, '梁堂村3组')
  assert.equal(complaint.photos.length, 1)
  const shown = await api.downloadPhoto(complaint.photos[0].url) // the page shows it from a temporary file
  assert.ok(require('node:fs').statSync(shown).size > 100)
  // A retry of the same report with the same key (the answer was lost) replays it: no second complaint.
  assert.equal((await api.submitComplaint(payload, key)).id, complaint.id)
  assert.equal((await api.myComplaints()).filter((c) => c.text === payload.text).length, 1)
  await assert.rejects(api.submitComplaint({ ...payload, state: 'closed' }, api.idempotencyKey()),
    (e) => e.status === 400 && e.code === 'unknown_field' && e.message.length > 0)

  // 3. Receipt: the resident's WeChat gets it, opening the complaint's page.
  const [receipt] = await received('xinma-complaint-received')
  assert.ok(receipt.page.startsWith(`pages/complaint/detail?id=${complaint.id}`))

  // Adding what was forgotten, with another photo, while it waits for triage.
  const second = shaped('photo', await api.uploadPhoto(env('XINMA_WALK_PHOTO')))
  const noted = shaped('complaint', await api.addNote(complaint.id, { text: '晚上七点以后整条路都是黑的', photos: [second.id] }))
  assert.deepEqual(noted.notes.map((n) => [n.author, n.text]), [['resident', '晚上七点以后整条路都是黑的']])
  await assert.rejects(api.addNote(complaint.id, { text: 'x'.repeat(config.noteLimit + 1) }),
    (e) => e.code === 'note_too_long' && /[\u4e00-\u9fff]/.test(e.message))

  // A session ended on the server: the next call signs in again and retries once.
  await api.signOut()
  device.setStorageSync(api.TOKEN_KEY, 'a-session-the-server-no-longer-has')
  shaped('complaint', await api.complaint(complaint.id))
  assert.notEqual(device.getStorageSync(api.TOKEN_KEY), 'a-session-the-server-no-longer-has')

  // 4. Triage result: the grid worker promotes it to a topic.
  await staff('promote', { complaint_id: complaint.id })
  const triaged = shaped('complaint', await api.complaint(complaint.id))
  assert.equal(triaged.state_label, '已转为协商议题')
  assert.ok(triaged.decision && triaged.decision.label)
  assert.ok(triaged.topic, 'the complaint names its topic')
  assert.deepEqual(triaged.timeline.map((s) => s.label).slice(-1), ['已转为协商议题'])
  await received('xinma-complaint-triaged')

  // 5. Topic: on my topics; its page's button asks for its messages, three a tap.
  const topicId = triaged.topic.id
  const mine = (await api.myTopics()).map((t) => shaped('topic', t))
  assert.deepEqual(mine.map((t) => t.id), [topicId])
  let pending = config.templates.topic
  while (pending.length) {
    const outcome = await subscribe.ask(pending)
    assert.ok(outcome.asked.length <= 3)
    pending = pending.slice(outcome.asked.length)
  }
  await staff('approve', { topic_id: topicId })
  const approved = shaped('topic', await api.topic(topicId))
  assert.equal(approved.state, 'approved')
  await received('xinma-topic-approved')

  // 6. Meeting registration: an open meeting with the topic on its agenda; the resident is invited.
  const { meeting_id: meetingId } = await staff('meeting', { topic_id: topicId })
  await received('xinma-meeting-invitation')
  const meetings = (await api.myMeetings()).map((m) => shaped('meeting', m))
  assert.deepEqual(meetings.map((m) => m.id), [meetingId])
  const meeting = shaped('meeting', await api.meeting(meetingId))
  assert.equal(meeting.can_register, true)
  assert.equal(meeting.open, true)
  assert.deepEqual(meeting.topics.map((t) => t.id), [topicId])
  await subscribe.ask(config.templates.meeting) // the 报名 tap
  const registration = shaped('registration', await api.register(meetingId, unit.scene))
  assert.equal(registration.meeting.registered, true)
  assert.equal(registration.meeting.places_left, meeting.places_left - 1)
  await assert.rejects(api.register(meetingId, unit.scene),
    (e) => e.status === 409 && e.code === 'registration_duplicate' && e.message.length > 0)
  await received('xinma-meeting-registered')

  // 7. Rating: the meeting agrees a solution, it is carried out; the resident rates it and the topic closes.
  await staff('implement', { topic_id: topicId, meeting_id: meetingId })
  const implemented = shaped('topic', await api.topic(topicId))
  assert.equal(implemented.state_label, '已落实')
  assert.equal(implemented.can_rate, true)
  assert.equal(implemented.assignment.percent, 100)
  assert.ok(implemented.solution)
  await assert.rejects(api.rateTopic(topicId, { level: 'great' }), (e) => e.code === 'rating_unknown' && e.message.length > 0)
  const rated = shaped('topicRated', await api.rateTopic(topicId, { level: 'satisfied', reason: null }))
  assert.equal(rated.topic.state, 'closed')
  assert.equal(rated.topic.can_rate, false)
  assert.deepEqual(rated.topic.my_ratings.map((r) => r.label), ['满意'])
  const held = shaped('meeting', await api.meeting(meetingId))
  assert.equal(held.state, 'held')
  assert.ok(held.topics[0].outcome)

  // The board of the scanned unit, and what to ask again for (one-time subscriptions used up).
  shaped('board', await api.board(unit.scene))
  const budget = await eventually('a template to ask again for', async () => {
    const s = shaped('subscriptions', await api.subscriptions())
    return s.resubscribe.length ? s : null
  })
  const again = await subscribe.ask(budget.resubscribe)
  assert.ok(again.asked.length >= 1 && again.asked.length <= 3)

  // The staff page: the grid worker binds this WeChat with the code from their page, then allows their reminders.
  await assert.rejects(api.bindStaff('00000000'), (e) => e.code === 'bind_code_invalid' && e.message.length > 0)
  const { bind_code: bindCode } = await staff('bind_code')
  const bound = shaped('staffBinding', await api.bindStaff(bindCode))
  assert.equal(bound.staff.role_name, '网格员')
  const reminders = await subscribe.ask(config.templates.staff)
  assert.deepEqual(reminders.asked, config.templates.staff.slice(0, 3))
  shaped('subscriptionsRecorded', { left: reminders.left })

  // No call left the API module: every request, upload and download went through utils/api.js's base.
  assert.ok(device.calls.every((c) => c.url.startsWith(API)), 'a call outside the API root')
  log(`done: ${device.calls.length} calls`)
}

main().then(
  () => {
    lines.close()
    process.stdout.write('@@done\n')
  },
  (err) => {
    console.error(err && err.stack ? err.stack : err)
    process.exit(1)
  },
)

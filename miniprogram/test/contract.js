// What the mini-program reads of each answer: the fields its pages show or decide on, with their types. The walk
// checks the real backend's answers against it, and the page tests check their made-up answers against it too,
// so the pages are tested on answers shaped like the real ones. Extra fields are allowed; a missing or retyped
// field the client reads is a broken contract.
const nullable = (spec) => ({ nullable: spec })

function check(value, spec, where = 'data') {
  const problems = []
  const walk = (v, s, at) => {
    if (s && s.nullable !== undefined) {
      if (v !== null) walk(v, s.nullable, at)
      return
    }
    if (typeof s === 'string') {
      const ok = s === 'integer' ? Number.isInteger(v) : s === 'array' ? Array.isArray(v) : typeof v === s // eslint-disable-line valid-typeof
      if (!ok) problems.push(`${at}: expected ${s}, got ${JSON.stringify(v)}`)
      return
    }
    if (Array.isArray(s)) {
      if (!Array.isArray(v)) problems.push(`${at}: expected a list, got ${JSON.stringify(v)}`)
      else v.forEach((item, i) => walk(item, s[0], `${at}[${i}]`))
      return
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      problems.push(`${at}: expected an object, got ${JSON.stringify(v)}`)
      return
    }
    Object.keys(s).forEach((k) => {
      if (!(k in v)) problems.push(`${at}.${k}: missing`)
      else walk(v[k], s[k], `${at}.${k}`)
    })
  }
  walk(value, spec, where)
  return problems
}

const meetingBrief = { id: 'integer', title: 'string', starts_at: 'string', place: 'string', state: 'string', state_label: 'string' }
const unitName = { name: 'string', full_name: 'string' }

const shapes = {
  session: { token: 'string', expires_in: 'integer' },
  scene: { scene: 'string', categories: ['string'], unit: unitName },
  photo: { id: 'integer' },
  phone: { phone: 'string', masked: 'string' },
  complaint: {
    id: 'integer', category: 'string', text: 'string', state: 'string', state_label: 'string', reply: nullable('string'),
    created_at: 'string', phone: nullable('string'), unit: unitName, can_add_note: 'boolean',
    photos: [{ id: 'integer', url: 'string', thumbnail_url: 'string', thumbnail_ready: 'boolean' }],
    location: nullable({ latitude: 'number', longitude: 'number', address: nullable('string') }),
    topic: nullable({ id: 'integer', title: 'string', state_label: 'string' }),
    meetings: [meetingBrief],
    decision: nullable({ label: 'string', at: 'string', reason_label: nullable('string'), referral_label: nullable('string') }),
    notes: [{ id: 'integer', author: 'string', text: nullable('string'), at: 'string' }],
    timeline: [{ at: 'string', label: 'string' }],
  },
  complaintFollowup: { can_rate: 'boolean', my_ratings: [{ round: 'integer', label: 'string', reason: nullable('string') }] },
  subscriptions: { left: 'object', waiting: 'object', resubscribe: ['string'] },
  subscriptionsRecorded: { left: 'object' },
  topic: {
    id: 'integer', title: 'string', unit: 'string', state: 'string', state_label: 'string', solution: nullable('string'),
    reply: nullable('string'), can_rate: 'boolean', state_changed_at: 'string', meetings: [meetingBrief],
    assignment: nullable({ lead: 'string', due_on: 'string', percent: 'integer' }),
    my_ratings: [{ round: 'integer', label: 'string', reason: nullable('string') }],
  },
  meeting: {
    ...meetingBrief, form_label: 'string', open: 'boolean', capacity: nullable('integer'), places_left: nullable('integer'),
    registered: 'boolean', can_register: 'boolean', cancel_reason: nullable('string'), minutes: nullable('string'),
    topics: [{ id: 'integer', title: 'string', state_label: 'string', outcome: nullable('string'), solution: nullable('string') }],
  },
  board: { unit: 'string', meetings: [{ ...meetingBrief, unit: 'string' }], publications: [{ topic: 'string', kind_label: 'string', text: 'string', published_on: 'string', photos: ['string'] }] },
  staffBinding: { staff: { display_name: 'string', role_name: 'string' } },
  error: { code: 'string', message: 'string' },
}
shapes.topicRated = { round: 'integer', topic: shapes.topic }
shapes.complaintRated = { round: 'integer', complaint: shapes.complaintFollowup }
shapes.registration = { id: 'integer', meeting: shapes.meeting }

// The operations utils/api.js calls, as the served OpenAPI document names them.
const operations = [
  ['post', '/sessions'], ['delete', '/sessions/current'], ['get', '/scenes/{token}'], ['get', '/scenes'],
  ['post', '/complaints'], ['get', '/complaints'], ['get', '/complaints/{complaint_id}'],
  ['post', '/complaints/{complaint_id}/notes'], ['get', '/complaints/{complaint_id}/ratings'],
  ['post', '/complaints/{complaint_id}/ratings'], ['post', '/photos'], ['get', '/photos/{photo_id}'], ['post', '/phone'],
  ['get', '/subscriptions'], ['post', '/subscriptions'], ['get', '/my/topics'], ['get', '/topics/{topic_id}'],
  ['post', '/topics/{topic_id}/ratings'], ['get', '/my/meetings'], ['get', '/meetings/{meeting_id}'],
  ['post', '/meetings/{meeting_id}/registrations'], ['get', '/boards/{scene}'], ['post', '/staff-bindings'],
]

module.exports = { check, shapes, operations, nullable }

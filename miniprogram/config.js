// What a district sets before uploading the mini-program (see the README, "The mini-program").
// The AppID itself lives in project.config.json (WeChat's developer tools read it from there).
module.exports = {
  // The backend's API root: the district's HTTPS address (a 服务器域名 of the mini-program: request and uploadFile).
  apiBase: 'https://xinma.example.gov.cn/api/v1',

  // The subscribe-message template ids of the account (the backend's XINMA_TEMPLATE_<EVENT>); the defaults are
  // the backend's own defaults, which the WeChat sandbox knows. WeChat asks for at most three at a time.
  templates: {
    // asked on the 提交 tap of a report: receipt, triage result, the topic's approval
    report: ['xinma-complaint-received', 'xinma-complaint-triaged', 'xinma-topic-approved'],
    // the button on a topic's page (three a tap): its progress, a meeting invitation, the rating request, the
    // publication of its result
    topic: ['xinma-topic-progress', 'xinma-meeting-invitation', 'xinma-rating-requested', 'xinma-topic-published'],
    // asked on the 报名 tap of a meeting: the confirmation, the reminder, a change of time or place
    meeting: ['xinma-meeting-registered', 'xinma-meeting-reminder', 'xinma-meeting-changed'],
    // the button of the staff page once bound (long-term templates; the answers also reach the backend as
    // WeChat's subscribe events): topics to approve, new complaints and residents' notes, the daily digests
    staff: ['xinma-topic-proposed', 'xinma-complaint-new-in-unit', 'xinma-complaint-note-added', 'xinma-staff-digest',
      'xinma-overdue-digest'],
  },

  // The 使用微信手机号 button (getPhoneNumber): only a verified, non-individual mini-program may offer it, and
  // WeChat bills each success. Without it the resident types a number or leaves it empty.
  phoneButton: true,

  // Limits the backend enforces too (shown before sending, so the resident is not refused after typing)
  textLimit: 1000,
  noteLimit: 500,
  photoLimit: 6,
}

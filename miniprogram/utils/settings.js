// The resident's own settings, kept in storage: the large-text mode for older residents (applied to every page).
const LARGE_KEY = 'xinma_large_text'
const SCENE_KEY = 'xinma_scene'

module.exports = {
  isLarge: () => Boolean(wx.getStorageSync(LARGE_KEY)),
  setLarge: (on) => wx.setStorageSync(LARGE_KEY, Boolean(on)),
  // The code the resident last scanned: the public board and open meetings of that unit.
  lastScene: () => wx.getStorageSync(SCENE_KEY) || '',
  rememberScene: (scene) => wx.setStorageSync(SCENE_KEY, scene),
}

// XLSX exports: fetched with the token (a plain link could not send it), saved via a blob URL.

import * as api from './api.js';

export async function download(path, params = {}, button = null) {
  if (button) button.disabled = true;
  try {
    const { blob, name } = await api.file(path, params);
    const href = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = href;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 10000);
  } finally {
    if (button) button.disabled = false;
  }
}

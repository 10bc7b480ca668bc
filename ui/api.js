// The collector's JSON API, with errors as messages people can act on.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, v);
  return q.toString();
}

export async function get(path, params, signal) {
  let resp;
  try {
    resp = await fetch(`${path}?${query(params)}`, { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'the collector cannot be reached (is it running?)');
  }
  let doc = null;
  try {
    doc = await resp.json();
  } catch (e) {
    throw new ApiError(resp.status, `the collector answered ${resp.status} without JSON`);
  }
  if (!resp.ok) {
    let msg = doc && doc.error ? doc.error : `HTTP ${resp.status}`;
    if (resp.status === 503 && !/^database unavailable|ALTER EXTENSION/.test(msg)) msg = `the database is unavailable: ${msg}`;
    throw new ApiError(resp.status, msg);
  }
  return doc.body;
}

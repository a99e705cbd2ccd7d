// Calls to the posestylizer REST API. Every failure becomes an Error whose message can be shown to the user as is.

async function message(response) {
  const text = await response.text().catch(() => "");
  let detail;
  try {
    detail = JSON.parse(text).detail;
  } catch {
    detail = text.trim().slice(0, 300); // not JSON (a proxy's or the body-size guard's plain-text answer)
  }
  if (Array.isArray(detail)) {
    // FastAPI's validation errors: [{loc: [...], msg}], one line each
    detail = detail.map((d) => `${(d.loc || []).slice(1).join(".") || "request"}: ${d.msg}`).join("; ");
  }
  return detail || `${response.status} ${response.statusText}`;
}

async function call(url, options) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    throw new Error(`cannot reach the posestylizer server (${err.message}); is \`posestylizer serve\` still running?`);
  }
  if (!response.ok) throw new Error(await message(response));
  return response.json();
}

export function getJSON(url) {
  return call(url, { headers: { Accept: "application/json" } });
}

/** POST multipart form data; fields maps names to strings or File/Blob objects (null/undefined are skipped). */
export function postForm(url, fields) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined) form.append(name, value);
  }
  return call(url, { method: "POST", body: form });
}

export function pngDataUrl(base64) {
  return `data:image/png;base64,${base64}`;
}

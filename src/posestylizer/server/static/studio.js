// The pose studio page: wires the source photo, the pose editor and the result to the REST API.

import { getJSON, pngDataUrl, postForm } from "./api.js";
import { PoseEditor } from "./editor.js";
import { fromOpenPose, jointsFromKeypoints, keypointsFromJoints, mirrorJoints, toOpenPose } from "./pose.js";

const $ = (id) => document.getElementById(id);
const ZOOMS = [1, 2, 3, 4, 6, 8, 12, 16];
const state = { contract: null, skeleton: null, library: [], source: null, editor: null, busy: false };
// Every message the page showed, in order (the browser test and bug reports read it).
window.studioErrors = [];

function showError(text) {
  window.studioErrors.push(text);
  $("error-text").textContent = text;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
}

function mb(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Refuse files the server would refuse anyway, before uploading them. */
function checkFile(file) {
  const limit = state.contract.limits.max_upload_bytes;
  if (file.size > limit) throw new Error(`${file.name} is ${mb(file.size)}: the server accepts photos up to ${mb(limit)}`);
}

function jointLabel(name) {
  return name.replace(/^([rl])_/, (_, s) => (s === "r" ? "R " : "L ")).replace(/_/g, " ");
}

async function start() {
  try {
    [state.contract, state.skeleton, { poses: state.library }] = await Promise.all([
      getJSON("api/contract"), getJSON("api/skeleton"), getJSON("api/poses"),
    ]);
  } catch (err) {
    showError(`cannot load the model's settings: ${err.message}`);
    return;
  }
  const c = state.contract;
  $("model-info").textContent =
    `model ${c.checkpoint} · ${c.image_size[0]}×${c.image_size[1]} px · ${c.preset} · pose σ ${c.heatmap_sigma} · ${c.device} ${c.precision}`;
  const select = $("library-select");
  for (const pose of state.library) select.add(new Option(pose.name.replace(/_/g, " "), pose.name));
  const first = state.library[0];
  const joints = jointsFromKeypoints(first ? first.keypoints : [], c.image_size);
  state.editor = new PoseEditor($("pose-canvas"), {
    size: c.image_size, skeleton: state.skeleton, joints, onChange: poseChanged,
  });
  if (first) select.value = first.name;
  const zoom = ZOOMS.filter((z) => z * c.image_size[0] <= 520).pop() || 1;
  setZoom(zoom);
  buildJointList();
  bindControls();
  poseChanged();
  // Read-only view for tests and the browser console: the target pose as the API takes it, and the zoom.
  window.studio = {
    keypoints: () => keypointsFromJoints(state.editor.joints),
    sourceKeypoints: () => (state.source ? state.source.keypoints : null),
    zoom: () => state.editor.zoom,
  };
  document.body.dataset.ready = "true";
}

function buildJointList() {
  const list = $("joint-list");
  state.skeleton.names.forEach((name, i) => {
    const li = document.createElement("li");
    const pick = document.createElement("button");
    pick.type = "button";
    pick.dataset.joint = name;
    pick.title = `Select ${jointLabel(name)} (then move it with the arrow keys)`;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = `rgb(${state.skeleton.colors[i].join(" ")})`;
    pick.append(swatch, jointLabel(name));
    pick.addEventListener("click", () => state.editor.select(i));
    const shown = document.createElement("input");
    shown.type = "checkbox";
    shown.setAttribute("aria-label", `show ${jointLabel(name)}`);
    shown.dataset.joint = name;
    shown.addEventListener("change", () => state.editor.toggleVisible(i));
    li.append(pick, shown);
    list.append(li);
  });
}

function poseChanged() {
  const ed = state.editor;
  $("undo").disabled = !ed.history.canUndo;
  $("redo").disabled = !ed.history.canRedo;
  const items = $("joint-list").children;
  ed.joints.forEach((j, i) => {
    const li = items[i];
    if (!li) return;
    li.classList.toggle("hidden-joint", !j.visible);
    li.querySelector("button").setAttribute("aria-pressed", String(i === ed.selected));
    li.querySelector("input").checked = j.visible;
  });
}

function setZoom(zoom) {
  state.editor.setZoom(zoom);
  $("zoom-level").textContent = `${zoom}×`;
  $("zoom-out").disabled = zoom === ZOOMS[0];
  $("zoom-in").disabled = zoom === ZOOMS[ZOOMS.length - 1];
  const [h, w] = state.contract.image_size;
  const img = $("result-image");
  img.style.width = `${w * zoom}px`;
  img.style.height = `${h * zoom}px`;
}

function stepZoom(direction) {
  const i = ZOOMS.indexOf(state.editor.zoom) + direction;
  if (i >= 0 && i < ZOOMS.length) setZoom(ZOOMS[i]);
}

/** A button that opens a hidden file input, and the handler of the chosen file. */
function bindFile(button, input, handler) {
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const file = input.files[0];
    input.value = ""; // choosing the same file again is a new change
    if (file) handler(file);
  });
}

/** Estimate the person in a new source photo; ``person`` ("X,Y" photo pixels) picks one of several people. */
async function loadSource(file, person = null) {
  if (!file || state.busy) return;
  const request = (state.sourceRequest = (state.sourceRequest || 0) + 1);
  const status = $("source-status");
  status.textContent = `Finding the person in ${file.name}…`;
  try {
    checkFile(file);
    const found = await postForm("api/estimate", { image: file, person });
    const image = await createImageBitmap(file).catch(() => {
      throw new Error(`${file.name}: the server read it but this browser cannot display it; use PNG or JPEG`);
    });
    if (request !== state.sourceRequest) return; // a newer photo or click came in meanwhile
    state.source = { file, image, person, ...found };
    clearError();
    drawSource();
    const n = found.keypoints.filter(([y]) => y >= 0).length;
    status.textContent = `${file.name}: ${n} of 18 joints found; the dashed box is the model's crop. ` +
      "Click another person in the photo to use them instead.";
    $("copy-source").disabled = false;
    $("generate").disabled = false;
    state.editor.setGhost(image, found.crop_box);
    if (!state.editor.history.canUndo) copySource();
  } catch (err) {
    if (request !== state.sourceRequest) return;
    status.textContent = state.source ? `Still using ${state.source.file.name}.` : "No photo yet.";
    showError(err.message);
  }
}

function drawSource() {
  const { image, keypoints, crop_box: box } = state.source;
  const canvas = $("source-canvas");
  const scale = Math.min(340 / image.width, 480 / image.height);
  const dpr = window.devicePixelRatio || 1;
  canvas.style.width = `${image.width * scale}px`;
  canvas.style.height = `${image.height * scale}px`;
  canvas.width = Math.round(image.width * scale * dpr);
  canvas.height = Math.round(image.height * scale * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(scale * dpr, 0, 0, scale * dpr, 0, 0);
  ctx.drawImage(image, 0, 0);
  const px = 1 / scale; // one CSS pixel in photo pixels
  ctx.lineWidth = 2 * px;
  ctx.setLineDash([6 * px, 4 * px]);
  ctx.strokeStyle = "#ffd400";
  ctx.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
  ctx.setLineDash([]);
  ctx.strokeStyle = "rgb(230 230 230 / 90%)";
  for (const [a, b] of state.skeleton.limbs) {
    const [ya, xa] = keypoints[a];
    const [yb, xb] = keypoints[b];
    if (ya < 0 || yb < 0) continue;
    ctx.beginPath();
    ctx.moveTo(xa, ya);
    ctx.lineTo(xb, yb);
    ctx.stroke();
  }
  keypoints.forEach(([y, x], i) => {
    if (y < 0) return;
    ctx.beginPath();
    ctx.arc(x, y, 3.5 * px, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${state.skeleton.colors[i].join(" ")})`;
    ctx.fill();
  });
  $("source-drop").dataset.empty = "false";
  canvas.dataset.keypoints = String(keypoints.filter(([y]) => y >= 0).length);
}

/** A click on the source photo picks the person there (photos with several people). */
function pickPerson(event) {
  if (!state.source) return;
  const rect = event.target.getBoundingClientRect();
  const scale = state.source.image.width / rect.width;
  const x = Math.round((event.clientX - rect.left) * scale);
  const y = Math.round((event.clientY - rect.top) * scale);
  loadSource(state.source.file, `${x},${y}`);
}

function copySource() {
  if (!state.source) return;
  const size = state.contract.image_size;
  state.editor.apply(jointsFromKeypoints(state.source.model_keypoints, size, state.editor.joints));
  $("library-select").value = "";
}

function setTarget(keypoints) {
  state.editor.apply(jointsFromKeypoints(keypoints, state.contract.image_size, state.editor.joints));
}

/** A library pose: with a source photo, fitted to that person's size and place (as generation would); without
 * one, as the library frames it. */
async function pickLibrary() {
  const pose = state.library.find((p) => p.name === $("library-select").value);
  if (!pose) return;
  if (!state.source) {
    setTarget(pose.keypoints);
    return;
  }
  try {
    const out = await postForm("api/target-pose", {
      source: state.source.file, person: state.source.person, target_pose: pose.name,
    });
    setTarget(out.target_keypoints);
    clearError();
  } catch (err) {
    showError(`library pose ${pose.name}: ${err.message}`);
  }
}

/** The pose of the person in another photo, fitted to the source person when there is one. */
async function poseFromPhoto(file) {
  try {
    checkFile(file);
    if (state.source) {
      const out = await postForm("api/target-pose", {
        source: state.source.file, person: state.source.person, target_image: file,
      });
      setTarget(out.target_keypoints);
    } else {
      setTarget((await postForm("api/estimate", { image: file })).model_keypoints);
    }
    $("library-select").value = "";
    clearError();
  } catch (err) {
    showError(`pose from ${file.name}: ${err.message}`);
  }
}

async function generate() {
  if (!state.source || state.busy) return;
  state.busy = true;
  const button = $("generate");
  button.disabled = true;
  button.textContent = "Generating…";
  $("result-status").textContent = "";
  try {
    const out = await postForm("api/generate", {
      source: state.source.file,
      person: state.source.person,
      target_keypoints: JSON.stringify(keypointsFromJoints(state.editor.joints)),
    });
    const img = $("result-image");
    img.src = pngDataUrl(out.image);
    await img.decode();
    img.closest(".stage").dataset.empty = "false";
    setDownload($("download-result"), out.image);
    setDownload($("download-panel"), out.panel);
    $("result-status").textContent = `Generated in ${out.seconds.toFixed(2)} s.`;
    clearError();
  } catch (err) {
    showError(`generation failed: ${err.message}`);
  } finally {
    state.busy = false;
    button.disabled = false;
    button.textContent = "Generate";
  }
}

function setDownload(link, base64) {
  link.href = pngDataUrl(base64);
  link.setAttribute("aria-disabled", "false");
}

function saveJson() {
  const data = toOpenPose(state.editor.joints, state.contract.image_size);
  const blob = new Blob([JSON.stringify(data)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "pose.json";
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function loadJson(file) {
  try {
    const keypoints = fromOpenPose(await file.text(), state.contract.image_size, file.name);
    state.editor.apply(jointsFromKeypoints(keypoints, state.contract.image_size, state.editor.joints));
    $("library-select").value = "";
    clearError();
  } catch (err) {
    showError(err.message);
  }
}

function bindDrop(zone, onFile) {
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragover");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragover"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragover");
    onFile(e.dataTransfer.files[0]);
  });
}

function bindControls() {
  const ed = state.editor;
  bindFile($("source-button"), $("source-file"), (file) => loadSource(file));
  bindDrop($("source-drop"), (file) => loadSource(file));
  $("source-canvas").addEventListener("click", pickPerson);
  $("library-select").addEventListener("change", pickLibrary);
  $("copy-source").addEventListener("click", copySource);
  $("mirror").addEventListener("click", () =>
    ed.apply(mirrorJoints(ed.joints, state.contract.image_size[1], state.skeleton.flip)));
  bindFile($("pose-photo-button"), $("pose-photo-file"), poseFromPhoto);
  $("undo").addEventListener("click", () => ed.undo());
  $("redo").addEventListener("click", () => ed.redo());
  $("zoom-in").addEventListener("click", () => stepZoom(1));
  $("zoom-out").addEventListener("click", () => stepZoom(-1));
  $("show-ghost").addEventListener("change", (e) => {
    ed.showGhost = e.target.checked;
    ed.draw();
  });
  $("save-json").addEventListener("click", saveJson);
  bindFile($("load-json"), $("json-file"), loadJson);
  $("generate").addEventListener("click", generate);
  $("error-close").addEventListener("click", clearError);
  document.addEventListener("keydown", (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.target.matches("input[type=text], textarea, select")) return;
    const key = e.key.toLowerCase();
    if (key === "z" && !e.shiftKey) ed.undo();
    else if (key === "y" || (key === "z" && e.shiftKey)) ed.redo();
    else return;
    e.preventDefault();
  });
}

start();

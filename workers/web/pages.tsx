/** Server-rendered markup of each page; the page scripts in client/pages fill in the data. */
import { Layout } from './layout';
import { VIDEO_TEXT } from '../shared/config';

export function SignInPage() {
  return (
    <Layout page="signin" title="Sign in">
      <h1>Sign in</h1>
      <p id="signin-reason" class="notice" role="alert" hidden></p>
      <form id="signin-form" class="card form" novalidate>
        <p>
          Creators sign in with an API token. Locally, <code>npm start</code> prints one, and <code>npm run -s dev:token</code>{' '}
          prints it again. The token stays in this browser (local storage) and is sent only to this site.
        </p>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" spellcheck={false} required aria-describedby="signin-status" />
        <div class="actions">
          <button type="submit" class="primary">
            Sign in
          </button>
        </div>
        <p id="signin-status" class="status" role="status" hidden></p>
      </form>
    </Layout>
  );
}

export function UploadPage(props: { config: unknown }) {
  return (
    <Layout page="upload" title="Upload" config={props.config}>
      <h1>Upload a video</h1>
      <form id="upload-form" class="card form" novalidate>
        <div id="dropzone" class="dropzone">
          <label for="file">Video file</label>
          <input id="file" name="file" type="file" accept="video/*,.mkv,.mov,.mp4,.webm,.avi,.m4v" required aria-describedby="file-help" />
          <p id="file-help" class="help">
            Choose a file or drop it here. Uploads resume where they stopped if the connection drops or you close this tab
            and pick the same file again.
          </p>
          <p id="file-info" class="help" hidden></p>
        </div>
        <label for="title">Title</label>
        <input id="title" name="title" type="text" maxlength={VIDEO_TEXT.maxTitle} required />
        <label for="description">Description</label>
        <textarea id="description" name="description" rows={3} maxlength={VIDEO_TEXT.maxDescription}></textarea>
        <p id="resume-note" class="notice" hidden></p>
        <div class="actions">
          <button id="start" type="submit" class="primary">
            Upload
          </button>
        </div>
      </form>
      <section id="upload-progress" class="card" aria-labelledby="progress-heading" hidden>
        <h2 id="progress-heading">Uploading</h2>
        <progress id="progress" max={100} value={0} aria-labelledby="progress-heading" aria-describedby="progress-text"></progress>
        <p id="progress-text" class="progress-text" aria-live="off">
          <span id="progress-percent">0%</span> · <span id="progress-bytes">–</span> · <span id="progress-speed">–</span> ·{' '}
          <span id="progress-eta">estimating…</span>
        </p>
        <p id="upload-status" class="status" role="status"></p>
        <div class="actions">
          <button id="pause" type="button">
            Pause
          </button>
          <button id="cancel" type="button" class="danger">
            Cancel upload
          </button>
        </div>
      </section>
      <section id="processing" class="card" aria-labelledby="processing-heading" hidden>
        <h2 id="processing-heading">Processing</h2>
        <p id="processing-status" class="status" role="status"></p>
        <ul id="processing-units" class="units"></ul>
        <p class="actions">
          <a id="watch-link" class="button" href="#" hidden>
            Watch
          </a>
          <a class="button" href="/library">
            Go to library
          </a>
          <a class="button" href="/upload">
            Upload another
          </a>
        </p>
      </section>
    </Layout>
  );
}

export function LibraryPage() {
  return (
    <Layout page="library" title="Library">
      <div class="page-head">
        <h1>Your videos</h1>
        <a class="button primary" href="/upload">
          Upload
        </a>
      </div>
      <p id="library-status" class="status" role="status" hidden></p>
      <ul id="videos" class="videos" aria-label="Videos"></ul>
      <div class="actions">
        <button id="more" type="button" hidden>
          Load more
        </button>
      </div>
    </Layout>
  );
}

/** The player's markup is the element's (player/src/markup.ts), server-rendered: parts are found by `data-part`. */
export function WatchPage(props: { config: unknown; video: { title: string; description: string } | null; oembedUrl: string }) {
  return (
    <Layout page="watch" title={props.video?.title ?? 'Watch'} config={props.config} head={<link rel="alternate" type="application/json+oembed" href={props.oembedUrl} title="oEmbed" />}>
      <section id="player" class="player" aria-label="Video player">
        <div class="stage">
          <video id="video" data-part="media" playsinline preload="metadata"></video>
          <div id="spinner" data-part="spinner" class="spinner" hidden aria-hidden="true"></div>
          <div id="player-message" data-part="message" class="player-message" role="alert" hidden></div>
          <button id="big-play" data-part="bigPlay" type="button" class="big-play" aria-label="Play" hidden>
            ▶
          </button>
        </div>
        <div class="controls" data-part="controls">
          <button id="play" data-part="play" type="button" aria-label="Play" disabled>
            ▶
          </button>
          <div class="seek">
            <input id="seek" data-part="seek" type="range" min={0} max={0} step={0.1} value={0} aria-label="Seek" disabled />
            <div id="preview" data-part="preview" class="preview" aria-hidden="true" hidden>
              <div id="preview-image" data-part="previewImage" class="preview-image"></div>
              <span id="preview-time" data-part="previewTime"></span>
            </div>
          </div>
          <span id="time" data-part="time" class="time">
            0:00 / 0:00
          </span>
          <button id="mute" data-part="mute" type="button" aria-label="Mute" aria-pressed="false">
            <svg class="icon icon-sound" viewBox="0 0 24 24" aria-hidden="true">
              <path d="M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4z" />
            </svg>
            <svg class="icon icon-muted" viewBox="0 0 24 24" aria-hidden="true">
              <path d="M3 9v6h4l5 5V4L7 9H3z" />
              <path d="M15 9l6 6m0-6l-6 6" stroke="currentColor" stroke-width="2" fill="none" />
            </svg>
          </button>
          <label class="quality">
            <span>Quality</span>
            <select id="quality" data-part="quality" disabled>
              <option value="-1">Auto</option>
            </select>
          </label>
          <label class="quality audio" hidden>
            <span>Audio</span>
            <select id="audio" data-part="audio" disabled>
              <option value="-1">Original</option>
            </select>
          </label>
          <label class="quality captions" hidden>
            <span>Captions</span>
            <select id="captions" data-part="captions" disabled>
              <option value="-1">Off</option>
            </select>
          </label>
          <button id="nerd-toggle" type="button" aria-expanded="false" aria-controls="nerd-panel">
            Details
          </button>
          <button id="fullscreen" data-part="fullscreen" type="button" aria-label="Full screen">
            <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
              <path d="M4 4h6v2H6v4H4V4zm10 0h6v6h-2V6h-4V4zM4 14h2v4h4v2H4v-6zm14 0h2v6h-6v-2h4v-4z" />
            </svg>
          </button>
        </div>
        <dl id="nerd-panel" class="nerd" hidden>
          <dt>Rendition</dt>
          <dd id="nerd-level">–</dd>
          <dt>Bandwidth estimate</dt>
          <dd id="nerd-bandwidth">–</dd>
          <dt>Buffer ahead</dt>
          <dd id="nerd-buffer">–</dd>
          <dt>Quality switches</dt>
          <dd id="nerd-switches">0</dd>
          <dt>Watched</dt>
          <dd id="nerd-watched">0 s</dd>
        </dl>
      </section>
      <h1 id="video-title">{props.video?.title ?? 'Loading…'}</h1>
      <p id="video-description" class="description">
        {props.video?.description ?? ''}
      </p>
      <p id="video-meta" class="meta"></p>
    </Layout>
  );
}

export function StatsPage(props: { config: unknown }) {
  return (
    <Layout page="stats" title="Stats" config={props.config}>
      <h1 id="stats-title">Stats</h1>
      <p id="stats-status" class="status" role="status" hidden></p>
      <div class="stat-cards">
        <div class="card stat">
          <span class="stat-label">Views</span>
          <span id="stat-views" class="stat-value">–</span>
        </div>
        <div class="card stat">
          <span class="stat-label">Unique viewers</span>
          <span id="stat-unique" class="stat-value">–</span>
        </div>
      </div>
      <section class="card" aria-labelledby="chart-heading">
        <h2 id="chart-heading">Views per hour, last 48 hours</h2>
        <p class="help">The totals above are live. Hourly figures are aggregated when the counters are flushed, once an hour.</p>
        <div id="chart" class="chart-wrap"></div>
        <details>
          <summary>Show as a table</summary>
          <table id="hourly-table">
            <thead>
              <tr>
                <th scope="col">Hour</th>
                <th scope="col">Views</th>
                <th scope="col">Unique viewers</th>
              </tr>
            </thead>
            <tbody></tbody>
          </table>
        </details>
      </section>
      <section class="card" aria-labelledby="qoe-heading">
        <h2 id="qoe-heading">Quality of experience, last 48 hours</h2>
        <p class="help">
          From the players' own reports, one per playback: time from play to the first frame, stalls after it, failures,
          viewers who left before the first frame, and the bitrate watched. The current hour is live.
        </p>
        <p id="qoe-status" class="status" role="status" hidden></p>
        <div id="qoe-cards" class="stat-cards qoe-cards"></div>
        <h3>Startup time per hour (median)</h3>
        <div id="qoe-startup-chart" class="chart-wrap"></div>
        <h3>Rebuffering per hour (stalled time over watched time)</h3>
        <div id="qoe-rebuffer-chart" class="chart-wrap"></div>
        <h3>By country (median startup)</h3>
        <div id="qoe-country-chart" class="chart-wrap"></div>
        <h3>By browser and system (median startup)</h3>
        <div id="qoe-browser-chart" class="chart-wrap"></div>
        <details>
          <summary>Show the groups as a table</summary>
          <table id="qoe-table">
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Views</th>
                <th scope="col">Startup p50 / p95</th>
                <th scope="col">Rebuffering</th>
                <th scope="col">Failures</th>
                <th scope="col">Left before start</th>
                <th scope="col">Bitrate</th>
              </tr>
            </thead>
            <tbody></tbody>
          </table>
        </details>
      </section>
      <p class="actions">
        <a id="stats-watch" class="button" href="#">
          Watch
        </a>
        <a class="button" href="/library">
          Back to library
        </a>
      </p>
    </Layout>
  );
}

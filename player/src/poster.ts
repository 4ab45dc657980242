/**
 * The poster shown before playing. It is fetched by the player (then shown from a blob URL) rather than by the
 * `<video poster>` attribute, so that a viewer who presses play before it has arrived does not pay for it: the play
 * aborts the fetch, and the link carries the first segments alone. (A poster is a JPEG of tens of kilobytes; on a
 * slow link it would share the bandwidth with the first segment for seconds.) A poster the player may not fetch
 * (another host without CORS) is left to the element.
 */
export function showPoster(media: HTMLVideoElement, url: string): void {
  const abort = new AbortController();
  let done = false;
  const cancel = () => {
    if (!done) abort.abort();
  };
  media.addEventListener('play', cancel, { once: true });
  void fetch(url, { signal: abort.signal })
    .then(async (res) => {
      if (!res.ok) return;
      const blob = await res.blob();
      // Playing already: the picture is on its way, the poster is not needed any more.
      if (!media.paused) return;
      media.poster = URL.createObjectURL(blob);
    })
    .catch(() => {
      // A poster from a host that answers no CORS (or that the page's connect-src does not name) is an image all the
      // same: let the element load it, unless play came first.
      if (!abort.signal.aborted && media.paused) media.poster = url;
    })
    .finally(() => {
      done = true;
      media.removeEventListener('play', cancel);
    });
}

/** The pages' DOM helpers; the element builder is the player's (user content reaches the page only as text). */
export { append, h } from '../../../../player/src/dom';

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
}

/** Reads the JSON the server rendered into `<script type="application/json" id="page-config">`. */
export function pageConfig<T>(): T {
  return JSON.parse(byId('page-config').textContent ?? '{}') as T;
}

/** Shows a message in a live region (screen readers announce it); `kind` styles it. */
export function announce(el: HTMLElement, message: string, kind: 'info' | 'error' | 'success' = 'info'): void {
  el.textContent = message;
  el.dataset.kind = kind;
  el.hidden = message === '';
}

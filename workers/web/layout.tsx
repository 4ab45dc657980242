/**
 * The HTML shell every page shares: a skip link, the header navigation, the page's server-rendered markup, its JSON
 * config and its one module script. Pages are static shells: creator data is fetched by the page script with the
 * creator's token (held by the browser), so no creator data is ever rendered into a cacheable HTML response.
 */
import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';

export type PageName = 'signin' | 'upload' | 'library' | 'watch' | 'stats';

/** JSON safe to embed in a `<script>` element: no `</script>` or `<!--` can close it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function Layout(props: { page: PageName; title: string; config?: unknown; head?: Child; children: Child }) {
  const nav: { href: string; label: string; page: PageName }[] = [
    { href: '/upload', label: 'Upload', page: 'upload' },
    { href: '/library', label: 'Library', page: 'library' },
  ];
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${props.title} · edge-video`}</title>
        <link rel="stylesheet" href="/assets/styles.css" />
        {/* No favicon request (there is none): on a slow link it would compete with the player's first segment. */}
        <link rel="icon" href="data:," />
        <script type="module" src={`/assets/${props.page}.js`}></script>
        {props.head}
      </head>
      <body data-page={props.page}>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="site-header">
          <a class="brand" href="/library">
            edge-video
          </a>
          <nav aria-label="Main">
            <ul>
              {nav.map((item) => (
                <li>
                  <a href={item.href} aria-current={item.page === props.page ? 'page' : undefined}>
                    {item.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div id="sign-in" class="sign-in" aria-live="polite"></div>
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
        <script type="application/json" id="page-config">
          {raw(scriptJson(props.config ?? {}))}
        </script>
      </body>
      </html>
    </>
  );
}

/** The header's sign-in control, shared by every page: "Sign in", or "Signed in · Sign out". */
import { clearToken, getToken } from './api';
import { byId, h } from './dom';

export function initChrome(): void {
  const signIn = byId('sign-in');
  signIn.replaceChildren();
  if (getToken()) {
    signIn.append(
      h('span', { class: 'muted' }, 'Signed in'),
      ' ',
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            clearToken();
            location.assign('/signin');
          },
        },
        'Sign out',
      ),
    );
  } else {
    signIn.append(h('a', { href: `/signin?next=${encodeURIComponent(location.pathname)}` }, 'Sign in'));
  }
}

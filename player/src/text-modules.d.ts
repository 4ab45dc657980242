/** The player's builds load .css files as text (esbuild's `text` loader): the element adopts it as a stylesheet. */
declare module '*.css' {
  const text: string;
  export default text;
}

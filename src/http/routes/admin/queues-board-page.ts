/**
 * bull-board's page as the admin CSP allows it (src/http/admin-boundary.ts): without the web-font
 * stylesheet it loads from Google (the engine's pages load nothing from other hosts, and admins'
 * browsers tell no third party they are looking) and without the inline styles of its "Loading"
 * placeholder, which the app replaces as soon as it starts. Everything else is bull-board's own.
 */
export function withoutForeignOrInlineStyles(html: string): string {
  return html
    .replace(/<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>/gi, '')
    .replace(/<style\b[^>]*>[\s\S]*?<\/style>/gi, '')
    .replace(/\sstyle="[^"]*"/gi, '');
}

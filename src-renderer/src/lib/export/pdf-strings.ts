// PDF text strings (document properties) are PDFDocEncoding or UTF-16BE with a byte-order mark.
// jsPDF writes each character's low byte, so non-Latin-1 text is handed to it as UTF-16BE bytes.
export function pdfTextString(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  let out = '\u00fe\u00ff';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out += String.fromCharCode(unit >> 8, unit & 0xff);
  }
  return out;
}

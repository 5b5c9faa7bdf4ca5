// The typeface of exported figures: DejaVu Sans, shipped with the app (it covers the Greek,
// subscripts and math signs of the lab's labels, such as μ̄ₑ and −log p). Loaded on the first
// export only. The same bytes serve the canvas (a FontFace, so PNG text is measured and drawn
// with it) and jsPDF (embedded, so PDFs look the same everywhere).
export const EXPORT_FONT_NAME = 'DejaVu Sans';
export const EXPORT_FONT_FAMILY = `"${EXPORT_FONT_NAME}", sans-serif`;

export interface ExportFonts {
  /** Base64 TrueType data for jsPDF's virtual file system. */
  regular: string;
  bold: string;
}

let loading: Promise<ExportFonts> | null = null;

export function loadExportFonts(): Promise<ExportFonts> {
  loading ??= (async () => {
    const [regular, bold] = await Promise.all([
      import('dejavu-fonts-ttf/ttf/DejaVuSans.ttf?inline').then((m) => base64Of(m.default)),
      import('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf?inline').then((m) => base64Of(m.default)),
    ]);
    // Binary FontFace sources are not fetched, so the page's font-src policy is untouched.
    const faces = [
      new FontFace(EXPORT_FONT_NAME, bytesOf(regular), { weight: '400' }),
      new FontFace(EXPORT_FONT_NAME, bytesOf(bold), { weight: '700' }),
    ];
    for (const face of faces) {
      await face.load();
      document.fonts.add(face);
    }
    return { regular, bold };
  })();
  loading.catch(() => {
    loading = null;
  });
  return loading;
}

function base64Of(dataUrl: string): string {
  const comma = dataUrl.indexOf(',');
  if (!dataUrl.startsWith('data:') || comma < 0 || !dataUrl.slice(0, comma).endsWith(';base64')) {
    throw new Error('Export font was not bundled inline');
  }
  return dataUrl.slice(comma + 1);
}

function bytesOf(base64: string): ArrayBuffer {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

// sdk_chart.mjs - the get_chart check that sdk_stdio.mjs and sdk_http.mjs
// share: the official SDK client calls get_chart (SDK validation of
// structuredContent against the outputSchema included), and the image
// content block's base64 must decode to a PNG of the size asked for (PNG
// signature, IHDR chunk first, width and height in it).

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// Calls get_chart through client with a 640x360 candle chart and reports
// each finding with check(cond, what, detail); label prefixes the names.
export async function checkChart(client, check, opts, label) {
  const width = 640;
  const height = 360;
  let res;
  try {
    res = await client.callTool(
      { name: "get_chart",
        arguments: { symbol: "BTCUSDT", interval: "1h", limit: 24, width, height } },
      undefined, opts);
    check(res.isError !== true, `${label}get_chart: SDK accepted the result`,
          JSON.stringify(res.content).slice(0, 300));
  } catch (e) {
    check(false, `${label}get_chart: SDK accepted the result`, e?.message ?? String(e));
    return;
  }
  const img = res.content?.find((c) => c.type === "image");
  check(img?.mimeType === "image/png", `${label}get_chart: an image/png content block`,
        JSON.stringify(res.content?.map((c) => c.type)));
  const png = Buffer.from(img?.data ?? "", "base64");
  check(png.length > 33 && png.subarray(0, 8).equals(PNG_SIGNATURE),
        `${label}get_chart: the base64 decodes to a PNG signature`,
        `${png.length} bytes`);
  const ihdr = png.length > 33 ? png.subarray(12, 16).toString("latin1") : "";
  const w = png.length > 33 ? png.readUInt32BE(16) : 0;
  const h = png.length > 33 ? png.readUInt32BE(20) : 0;
  check(ihdr === "IHDR" && w === width && h === height,
        `${label}get_chart: IHDR says ${width}x${height}`, `${ihdr} ${w}x${h}`);
  const text = res.content?.find((c) => c.type === "text")?.text ?? "";
  check(text.includes("BTCUSDT 1h candlestick chart of 24 candles"),
        `${label}get_chart: a text block says what the picture shows`, text.slice(0, 200));
}

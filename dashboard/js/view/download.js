// Saving text as a file the browser downloads: a Blob behind a temporary object URL and a
// link with `download`, so nothing leaves the machine and no server route is needed.

/** Starts the download of `text` as file `name` with content type `type`. */
export function download(name, text, type = "application/x-ndjson") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// forge.html?target=<API URL>&mode=form|fetch
const params = new URLSearchParams(location.search);
const target = params.get('target');
const result = document.getElementById('result');
const form = document.getElementById('forged');
form.action = target;
if (params.get('mode') === 'form') {
  form.submit();
} else if (params.get('mode') === 'fetch') {
  fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include', body: 'refreshToken=forged' })
    .then(() => { result.textContent = 'sent'; }, () => { result.textContent = 'failed'; });
}

"""Peer for template messages: builds, with pywa (PyPI), the request body
of each template in the JSON list argv[1] ({to, name, language, params,
header, buttons} in Switchboard's terms), captured from pywa's own HTTP
client without any network, and prints them as one JSON list."""
import sys, json, httpx
from pywa import WhatsApp
from pywa.types.templates import (BodyText, CopyCodeButton, HeaderDocument, HeaderImage, HeaderText,
                                  HeaderVideo, QuickReplyButton, TemplateLanguage, URLButton)

captured = []

def answer(request):
    captured.append(json.loads(request.content))
    return httpx.Response(200, json={"messaging_product": "whatsapp",
                                     "contacts": [{"input": "1", "wa_id": "1"}],
                                     "messages": [{"id": "wamid.PYWA"}]})

wa = WhatsApp(phone_id="1", token="t", session=httpx.Client(transport=httpx.MockTransport(answer)))
media = {"image": HeaderImage, "video": HeaderVideo, "document": HeaderDocument}
for spec in json.load(open(sys.argv[1])):
    params = []
    header = spec.get("header")
    if header and header["type"] == "text":
        params.append(HeaderText.params(header["text"]))
    elif header:
        kind = header["format"]
        params.append(media[kind].params(**{kind: header["link"]}))
    if spec["params"]:
        params.append(BodyText.params(*spec["params"]))
    for b in spec.get("buttons", []):
        if b["kind"] == "quick_reply":
            params.append(QuickReplyButton.params(callback_data=b["value"], index=b["index"]))
        elif b["kind"] == "url":
            params.append(URLButton.params(url_variable=b["value"], index=b["index"]))
        elif b["kind"] == "copy_code":
            params.append(CopyCodeButton.params(coupon_code=b["value"], index=b["index"]))
    wa.send_template(to=spec["to"], name=spec["name"], language=TemplateLanguage(spec["language"]),
                     params=params or None)
print(json.dumps(captured))

package demo

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// Personal is a message from a correspondent to owner: plain text, or
// text and HTML; sometimes with a PDF, a photo or a screenshot attached.
func (g *Generator) Personal(owner Person, date time.Time) (Message, error) {
	from := pick(g.rng, correspondents)
	for from.Addr == owner.Addr {
		from = pick(g.rng, correspondents)
	}
	subject := pick(g.rng, subjects[from.Lang])
	text := g.letter(from, owner)
	body := textPart(text)
	if g.rng.IntN(3) == 0 {
		body = g.multipart("alternative", body, htmlPart(textToHTML(text)))
	}
	switch n := g.rng.IntN(10); {
	case n == 0:
		body = g.multipart("mixed", body, filePart("application/pdf", pdfName(subject),
			PDF(subject, []string{"Prepared by " + from.Name, date.Format("2 January 2006"), g.paragraph("en", 2)}), ""))
	case n == 1:
		body = g.multipart("mixed", body, filePart("image/jpeg", fmt.Sprintf("IMG_%04d.jpg", 1000+g.rng.IntN(9000)),
			pick(g.rng, g.photos), ""))
	case n == 2:
		body = g.multipart("mixed", body, filePart("image/png", "screenshot.png", pick(g.rng, g.shots), ""))
	}
	return g.compose(envelope{from: from, to: []Person{owner}, subject: subject, date: date,
		priority: g.rng.IntN(40) == 0}, body)
}

// Reply is from's answer to m, quoting it.
func (g *Generator) Reply(m Message, from Person, to Person, date time.Time) (Message, error) {
	subject := m.Subject
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	lang := from.Lang
	if lang == "" {
		lang = "en"
	}
	text := fmt.Sprintf("%s\n\n%s\n\n%s\n%s\n\nOn %s, %s wrote:\n> %s\n", fmt.Sprintf(greetings[lang], firstName(to)),
		g.paragraph(lang, 2+g.rng.IntN(2)), signoffs[lang], from.Name, m.Date.Format("Mon, 2 Jan 2006 15:04"),
		m.From.Name, g.paragraph(m.From.Lang, 2))
	refs := m.Refs
	if len(refs) > 10 {
		refs = append([]string{refs[0]}, refs[len(refs)-9:]...)
	}
	return g.compose(envelope{from: from, to: []Person{to}, subject: subject, date: date,
		inReply: m.ID, refs: refs}, textPart(text))
}

// Newsletter is an HTML newsletter with remote images (blocked by the
// webmail until asked) and an inline cid: logo.
func (g *Generator) Newsletter(owner Person, date time.Time) (Message, error) {
	i := g.rng.IntN(len(newsletters))
	nl := newsletters[i]
	issue := 100 + g.rng.IntN(900)
	cid := fmt.Sprintf("logo-%d@%s", issue, nl.host)
	var h, t strings.Builder
	fmt.Fprintf(&h, `<!DOCTYPE html><html><body style="font-family:sans-serif;max-width:600px">`+
		`<p><img src="cid:%s" alt="%s" width="160" height="40"></p><h1>%s</h1>`, cid, html.EscapeString(nl.title),
		html.EscapeString(nl.title))
	fmt.Fprintf(&t, "%s — #%d\n\n", nl.title, issue)
	for j, head := range nl.headline {
		fmt.Fprintf(&h, `<h2>%s</h2><p><img src="http://%s/issue%d/hero-%d.jpg" width="560" alt=""></p><p>%s</p>`+
			`<p><a href="https://%s/read/%d/%d">Read more</a></p>`,
			html.EscapeString(head), nl.host, issue, j, html.EscapeString(g.paragraph(nl.from.Lang, 3)), nl.host, issue, j)
		fmt.Fprintf(&t, "* %s\n  https://%s/read/%d/%d\n\n", head, nl.host, issue, j)
	}
	fmt.Fprintf(&h, `<p style="font-size:small"><img src="http://%s/open.gif?u=%x" width="1" height="1">`+
		`<a href="https://%s/unsubscribe">Unsubscribe</a></p></body></html>`, nl.host, g.rng.Uint32(), nl.host)
	related := g.multipart("related", htmlPart(h.String()), filePart("image/png", "logo.png", g.logos[i], cid))
	body := g.multipart("alternative", textPart(t.String()), related)
	return g.compose(envelope{from: nl.from, to: []Person{owner}, subject: fmt.Sprintf("%s — %s", nl.title, nl.headline[0]),
		date: date, list: "https://" + nl.host + "/unsubscribe"}, body)
}

// Invoice is a bill with a PDF.
func (g *Generator) Invoice(owner Person, date time.Time) (Message, error) {
	from := Person{"Stadtwerke Mühlheim", "rechnung@stadtwerke-muehlheim.example", "de"}
	no := fmt.Sprintf("%d-%04d", date.Year(), g.rng.IntN(10000))
	amount := fmt.Sprintf("%d,%02d EUR", 20+g.rng.IntN(300), g.rng.IntN(100))
	text := fmt.Sprintf("Guten Tag %s,\n\nanbei Ihre Rechnung Nr. %s über %s.\nDer Betrag wird am %s abgebucht.\n\n"+
		"Mit freundlichen Grüßen\nIhre Stadtwerke Mühlheim\n", owner.Name, no, amount, date.AddDate(0, 0, 14).Format("02.01.2006"))
	pdf := PDF("Rechnung "+no, []string{owner.Name, "Betrag: " + amount, "Faellig: " + date.AddDate(0, 0, 14).Format("02.01.2006")})
	body := g.multipart("mixed", textPart(text), filePart("application/pdf", "Rechnung-"+no+".pdf", pdf, ""))
	return g.compose(envelope{from: from, to: []Person{owner}, subject: "Ihre Rechnung Nr. " + no, date: date}, body)
}

// Trip is mail about a journey to Japan: bookings with PDFs, photos.
func (g *Generator) Trip(owner Person, date time.Time) (Message, error) {
	subject := pick(g.rng, tripSubjects)
	from := Person{"Japan Rail Pass", "booking@jrpass.example", "en"}
	if strings.Contains(subject, "ホテル") || strings.Contains(subject, "旅館") {
		from = Person{"旅館 はこね", "info@ryokan-hakone.example.jp", "ja"}
	}
	text := g.letter(from, owner)
	body := textPart(text)
	switch {
	case strings.HasPrefix(subject, "Photos"):
		body = g.multipart("mixed", body, filePart("image/jpeg", "京都-1.jpg", pick(g.rng, g.photos), ""),
			filePart("image/jpeg", "京都-2.jpg", pick(g.rng, g.photos), ""))
	case g.rng.IntN(2) == 0:
		body = g.multipart("mixed", body, filePart("application/pdf", "Reiseplan Japan 日本.pdf",
			PDF("Itinerary Japan", []string{"Frankfurt - Tokyo Haneda", "Tokyo - Kyoto (Shinkansen)", "Hakone, Ryokan",
				"Booking ref " + fmt.Sprintf("%06X", g.rng.Uint32()&0xffffff)}), ""))
	}
	return g.compose(envelope{from: from, to: []Person{owner}, subject: subject, date: date}, body)
}

// Spam is junk mail.
func (g *Generator) Spam(owner Person, date time.Time) (Message, error) {
	from := Person{"Prize Department", fmt.Sprintf("no-reply-%d@win-big.example", g.rng.IntN(999)), "en"}
	h := `<html><body><h1 style="color:red">` + html.EscapeString(pick(g.rng, spamSubjects)) +
		`</h1><p><a href="http://win-big.example/claim">CLICK HERE</a></p><img src="http://win-big.example/t.gif"></body></html>`
	return g.compose(envelope{from: from, to: []Person{owner}, subject: pick(g.rng, spamSubjects), date: date},
		htmlPart(h))
}

func firstName(p Person) string {
	if p.Lang == "ja" {
		return p.Name
	}
	first, _, _ := strings.Cut(p.Name, " ")
	return first
}

func pdfName(subject string) string {
	return strings.NewReplacer("/", "-", "?", "", ":", "").Replace(subject) + ".pdf"
}

func textToHTML(text string) string {
	var b strings.Builder
	b.WriteString(`<html><body style="font-family:sans-serif">`)
	for _, p := range strings.Split(text, "\n\n") {
		b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(p), "\n", "<br>") + "</p>")
	}
	b.WriteString("</body></html>")
	return b.String()
}

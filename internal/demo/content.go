package demo

// The sample people, phrases and subjects the generator draws from.

// Person is a sender or recipient.
type Person struct {
	Name, Addr string
	Lang       string // "en", "de", "fr" or "ja": the language they write in
}

var correspondents = []Person{
	{"José García", "jose.garcia@example.es", "en"},
	{"Zoë Dubois", "zoe.dubois@example.fr", "fr"},
	{"Jürgen Weiß", "juergen.weiss@example.de", "de"},
	{"山田 太郎", "taro.yamada@example.jp", "ja"},
	{"Łukasz Wróbel", "lukasz.wrobel@example.pl", "en"},
	{"Søren Østergaard", "soren@example.dk", "en"},
	{"Priya Raman", "priya.raman@example.in", "en"},
	{"Ana Lúcia Ferreira", "ana.ferreira@example.br", "en"},
	{"Mehmet Yılmaz", "mehmet@example.com.tr", "en"},
	{"Ольга Смирнова", "olga@example.ru", "en"},
	{"Lena Schäfer", "lena.schaefer@example.de", "de"},
	{"François Lefèvre", "francois@example.fr", "fr"},
	{"Sam O'Neill", "sam.oneill@example.ie", "en"},
	{"Bob Smith", "bob@example.com", "en"},
	{"Chloé Martin", "chloe@example.org", "fr"},
}

var sentences = map[string][]string{
	"en": {
		"Thanks for sending this over.", "I had a look at the numbers and they mostly add up.",
		"Could we move the call to Thursday afternoon?", "Attached is the latest version, with your comments in.",
		"Let me know if anything is unclear.", "The client wants an answer by the end of the week.",
		"I'll be out of the office on Monday.", "Great work on the presentation yesterday!",
		"We still need a decision on the venue.", "Can you double-check the figures in section 3?",
		"I think we are nearly there.", "Sorry for the late reply, it has been a busy week.",
		"The new build is on the staging server.", "Happy to help if you need anything else.",
	},
	"de": {
		"Vielen Dank für die schnelle Rückmeldung.", "Anbei die überarbeitete Fassung.",
		"Können wir uns nächste Woche kurz abstimmen?", "Die Zahlen für das dritte Quartal sehen gut aus.",
		"Ich bin ab Mittwoch wieder im Büro.", "Grüße aus München!", "Das Angebot gilt bis Ende des Monats.",
		"Bitte gib mir bis Freitag Bescheid.", "Der Termin am Dienstag passt mir gut.",
	},
	"fr": {
		"Merci pour ton message.", "Je te propose qu'on en parle lundi.", "Voici le compte rendu de la réunion.",
		"Le devis est en pièce jointe.", "À bientôt !", "Il faudrait valider le budget avant jeudi.",
		"Les photos sont superbes, merci !", "On se retrouve au café à 9 h ?",
	},
	"ja": {
		"お疲れ様です。", "資料を添付しましたのでご確認ください。", "来週の会議の件でご連絡しました。",
		"よろしくお願いいたします。", "京都の写真を送ります。", "日程の調整をお願いできますか。",
	},
}

var subjects = map[string][]string{
	"en": {
		"Quarterly report", "Lunch on Friday?", "Budget 2026 — first draft", "Slides for the board meeting",
		"Contract renewal", "Quick question about the invoice", "Team offsite", "Your feedback on the proposal",
		"Server maintenance window", "Photos from the weekend", "Hiring plan", "Release notes 4.2",
	},
	"de": {
		"Angebot für Q3 — überarbeitet", "Umzug nächste Woche", "Grüße aus München", "Protokoll der Besprechung",
		"Urlaubsplanung Sommer", "Rückfragen zur Lieferung",
	},
	"fr": {
		"Réunion de lundi", "Devis pour la rénovation", "Compte rendu — atelier", "Vacances d'été", "Déjeuner ?",
	},
	"ja": {"会議の議事録", "見積書の送付", "来週の打ち合わせについて", "出張の予定"},
}

var greetings = map[string]string{"en": "Hi %s,", "de": "Hallo %s,", "fr": "Bonjour %s,", "ja": "%sさん"}

var signoffs = map[string]string{"en": "Best,", "de": "Viele Grüße", "fr": "Bien à toi,", "ja": "よろしくお願いします。"}

// newsletter is a sender of HTML newsletters.
type newsletter struct {
	from     Person
	host     string // host of the remote images
	title    string
	headline []string
}

var newsletters = []newsletter{
	{Person{"Kaffeerösterei Bohnenglück", "news@bohnenglueck.example", "de"}, "img.bohnenglueck.example",
		"Bohnenglück Newsletter", []string{"Neue Ernte aus Äthiopien", "Röstkurs im März", "10 % auf Espresso"}},
	{Person{"The Weekly Byte", "digest@weeklybyte.example", "en"}, "images.weeklybyte.example",
		"The Weekly Byte", []string{"Rust in the kernel, one year on", "What's new in Go", "A gentle intro to CRDTs"}},
	{Person{"Voyages Lumière", "offres@voyages-lumiere.example", "fr"}, "cdn.voyages-lumiere.example",
		"Voyages Lumière — offres de la semaine", []string{"Lisbonne dès 89 €", "Week-end à Kyoto", "Croisière en Norvège"}},
}

var spamSubjects = []string{
	"You have WON a 1,000 € gift card!!!", "Urgent: verify your account now", "Cheap watches — 90% off",
	"Re: your invoice (unpaid)", "Congratulations, you are selected",
}

// Japan trip mail, for the folder that is deleted by mistake.
var tripSubjects = []string{
	"Flight confirmation Frankfurt → Tokyo Haneda", "ホテル予約確認 — 京都 (Kyoto)", "JR Pass: your reservation",
	"Photos: Kyoto 京都", "Itinerary Japan 日本 — final", "Ryokan Hakone — 旅館のご案内", "Tokyo: restaurant list 🍣",
}

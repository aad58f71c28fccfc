package demo

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
)

// PDF returns a small valid one-page PDF 1.4 document showing title and
// lines in Helvetica. Characters outside printable ASCII are written as
// '?', since the standard fonts have no Unicode mapping.
func PDF(title string, lines []string) []byte {
	var content strings.Builder
	content.WriteString("BT /F1 18 Tf 72 770 Td (" + pdfString(title) + ") Tj /F1 11 Tf\n")
	for _, l := range lines {
		content.WriteString("0 -18 Td (" + pdfString(l) + ") Tj\n")
	}
	content.WriteString("ET\n")
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// pdfString escapes s for a PDF literal string.
func pdfString(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// picture draws a w×h landscape-like picture: a sky gradient, a sun and
// hills, coloured by rng.
func picture(rng *rand.Rand, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	top := color.RGBA{uint8(40 + rng.IntN(80)), uint8(90 + rng.IntN(100)), uint8(160 + rng.IntN(90)), 255}
	hill := color.RGBA{uint8(30 + rng.IntN(90)), uint8(90 + rng.IntN(110)), uint8(30 + rng.IntN(60)), 255}
	sunX, sunY, sunR := rng.IntN(w), h/6+rng.IntN(h/4), h/10+rng.IntN(h/10)
	phase, amp := rng.Float64()*6, float64(h)/10+rng.Float64()*float64(h)/8
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{lerp(top.R, 250, y, h), lerp(top.G, 240, y, h), lerp(top.B, 220, y, h), 255}
			if dx, dy := x-sunX, y-sunY; dx*dx+dy*dy < sunR*sunR {
				c = color.RGBA{250, 220, 90, 255}
			}
			ridge := float64(h)*0.6 + amp*sin(float64(x)/float64(w)*6.3+phase)
			if float64(y) > ridge {
				c = color.RGBA{lerp(hill.R, 10, y, 2*h), lerp(hill.G, 40, y, 2*h), lerp(hill.B, 10, y, 2*h), 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func lerp(a, b uint8, i, n int) uint8 {
	return uint8(int(a) + (int(b)-int(a))*i/n)
}

// sin is a small Taylor-series sine, good enough for hills, that keeps
// the pictures identical on every platform.
func sin(x float64) float64 {
	for x > 3.14159265 {
		x -= 6.2831853
	}
	for x < -3.14159265 {
		x += 6.2831853
	}
	x2 := x * x
	return x * (1 - x2/6*(1-x2/20*(1-x2/42*(1-x2/72))))
}

// PNG returns a small PNG picture drawn from rng.
func PNG(rng *rand.Rand, w, h int) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, picture(rng, w, h)); err != nil {
		return nil, fmt.Errorf("encoding png: %w", err)
	}
	return b.Bytes(), nil
}

// JPEG returns a small JPEG "photo" drawn from rng.
func JPEG(rng *rand.Rand, w, h int) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(rng, w, h), &jpeg.Options{Quality: 70}); err != nil {
		return nil, fmt.Errorf("encoding jpeg: %w", err)
	}
	return b.Bytes(), nil
}

// Logo returns a small PNG banner in one of a few colours, for the inline
// images of newsletters.
func Logo(rng *rand.Rand) ([]byte, error) {
	img := image.NewPaletted(image.Rect(0, 0, 160, 40), color.Palette{
		color.RGBA{255, 255, 255, 255},
		color.RGBA{uint8(rng.IntN(200)), uint8(rng.IntN(200)), uint8(rng.IntN(200)), 255},
	})
	for y := 6; y < 34; y++ {
		for x := 6; x < 154; x++ {
			if (x/12+y/12)%2 == 0 || y < 10 || y > 29 {
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("encoding logo: %w", err)
	}
	return b.Bytes(), nil
}

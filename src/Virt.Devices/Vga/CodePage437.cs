namespace Virt.Devices;

/// <summary>The characters of the IBM PC's code page 437, for turning text-mode cells into strings.</summary>
internal static class CodePage437
{
    /// <summary>Codes 00h-1Fh (00h shown as a space) and 7Fh-FFh; 20h-7Eh are ASCII.</summary>
    private const string Low = " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼";
    private const string High = "⌂ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00A0";

    /// <summary>The Unicode character of a code.</summary>
    public static char ToChar(byte code) => code switch
    {
        < 0x20 => Low[code],
        < 0x7F => (char)code,
        _ => High[code - 0x7F],
    };
}

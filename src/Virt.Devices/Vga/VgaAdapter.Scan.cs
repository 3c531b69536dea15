namespace Virt.Devices;

/// <summary>
/// The CRTC's address generator as far as the renderer models it (FreeVGA, "CRT Controller Registers" and "Attribute
/// Controller Registers"; IBM VGA Technical Reference, CRT controller): the start address (CR0C/CR0D) plus byte panning
/// (preset row scan CR08 bits 5-6), the offset register (CR13) between rows, the line compare split screen (CR18, bit 8
/// in CR07 bit 4, bit 9 in CR09 bit 6) and horizontal pel panning (attribute register 13h) with the pixel panning mode
/// (attribute mode control 10h bit 5).
/// </summary>
public sealed partial class VgaAdapter
{
    // CRTC preset row scan (08h) bits 5-6: byte panning; overflow (07h) bit 4 and maximum scan line (09h) bit 6: line compare bits 8 and 9.
    private const int CrtcBytePanShift = 5;
    private const byte CrtcBytePanMask = 0x03;
    private const byte CrtcOverflowLineCompare8 = 0x10;
    private const byte CrtcMaxScanLineCompare9 = 0x40;

    // Attribute controller: mode control (10h) bit 5, pixel panning mode; horizontal pel panning (13h) bits 0-3.
    private const byte AttributeModePixelPanningMode = 0x20;
    private const int AttributeHorizontalPelPanning = 0x13;
    private const byte PelPanningMask = 0x0F;

    /// <summary>The line compare value (CR18 with bit 8 from CR07 bit 4 and bit 9 from CR09 bit 6): the scan line after which the display restarts at address 0.</summary>
    public int LineCompare => _crtc[0x18] | ((_crtc[0x07] & CrtcOverflowLineCompare8) << 4) | ((_crtc[0x09] & CrtcMaxScanLineCompare9) << 3);

    /// <summary>Byte panning (CR08 bits 5-6): added to the start address, in CRTC address units (bytes, words or double words).</summary>
    private int BytePan => (_crtc[0x08] >> CrtcBytePanShift) & CrtcBytePanMask;

    /// <summary>Whether pel panning stops below the split (attribute mode control bit 5, FreeVGA "Pixel Panning Mode").</summary>
    private bool PelPanningResetBelowSplit => (_attribute[0x10] & AttributeModePixelPanningMode) != 0;

    private int PelPanningRegister => _attribute[AttributeHorizontalPelPanning] & PelPanningMask;

    /// <summary>
    /// Dots a text line is shifted left by (FreeVGA, Horizontal Pixel Panning Register): in 9-dot mode the values 8, 0,
    /// 1, ..., 7 shift by 0 to 8 dots; in 8-dot mode 0-7 shift by 0-7. Other values are undefined and shift by nothing.
    /// </summary>
    private int TextPelPan(int cellWidth)
    {
        int value = PelPanningRegister;
        if (cellWidth == 9)
        {
            return value == 8 ? 0 : value < 8 ? value + 1 : 0;
        }

        return value < 8 ? value : 0;
    }

    /// <summary>
    /// Pixels a graphics line is shifted left by: 0-7 in the 16- and 4-colour modes; in 256-colour mode the hardware pans
    /// in dot pairs, so 0, 2, 4, 6 shift by 0-3 pixels (FreeVGA; odd values are undefined and are rounded down here).
    /// </summary>
    private int GraphicsPelPan(VgaDisplayMode mode)
    {
        int value = PelPanningRegister;
        if (value >= 8)
        {
            return 0;
        }

        return mode == VgaDisplayMode.Graphics256 ? value >> 1 : value;
    }

    /// <summary>
    /// The memory address counter, one output line at a time. Output line i covers scan lines i x
    /// <c>repeatPerLine</c> to (i + 1) x <c>repeatPerLine</c> - 1 of the CRTC; every <c>scanLinesPerRow</c> output lines
    /// the row start advances by the offset register (x 2 address units). The first output line whose first scan line
    /// lies after the line compare value starts again at address 0 with the row scan counter at 0 (the split screen;
    /// the split is resolved to whole output lines). Above the split rows start at the start address plus the byte pan.
    /// </summary>
    private readonly struct ScanAddressCounter
    {
        private readonly int _start;
        private readonly int _pitch;
        private readonly int _scanLinesPerRow;
        private readonly int _splitLine;

        public ScanAddressCounter(VgaAdapter adapter, int scanLinesPerRow, int repeatPerLine)
        {
            _start = adapter.StartAddress + adapter.BytePan;
            _pitch = adapter._crtc[0x13] * 2;
            _scanLinesPerRow = Math.Max(scanLinesPerRow, 1);
            _splitLine = (adapter.LineCompare / Math.Max(repeatPerLine, 1)) + 1;
        }

        /// <summary>The row start (CRTC address units), the row scan counter and whether the line is below the split.</summary>
        public (int RowStart, int Scan, bool BelowSplit) Next(int line)
        {
            bool below = line >= _splitLine;
            int k = below ? line - _splitLine : line;
            int row = k / _scanLinesPerRow;
            return (((below ? 0 : _start) + (row * _pitch)) & 0xFFFF, k % _scanLinesPerRow, below);
        }
    }
}

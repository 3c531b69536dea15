using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// An IBM VGA (IBM "VGA Technical Reference"; FreeVGA register documentation) with the Bochs VBE
/// extensions (DISPI, ports 1CEh/1CFh): 256 KiB of planar video memory in four planes, the CRT
/// controller, sequencer, graphics controller, attribute controller and DAC registers, the A0000h-BFFFFh
/// window with every write and read mode, chain-4 and odd/even addressing, and a linear framebuffer for
/// the VBE modes. Reset leaves it in mode 03h (80x25, 16 colours, 9x16 cells). The host reads the screen
/// as text (<see cref="GetScreenText"/>) or as an image (<see cref="Render"/>, <see cref="SavePng"/>) in
/// any mode. See docs/vga.md.
/// </summary>
public sealed partial class VgaAdapter : IPortMappedDevice, IStatefulDevice<VgaState>
{
    /// <summary>The physical address of the text memory window.</summary>
    public const uint TextMemoryBase = 0xB8000;

    /// <summary>The size of the text memory window (B8000h-BFFFFh).</summary>
    public const int TextMemorySizeInBytes = 0x8000;

    /// <summary>The size of one plane.</summary>
    public const int PlaneSizeInBytes = 0x10000;

    /// <summary>The physical address of the legacy video memory window (A0000h-BFFFFh).</summary>
    public const uint LegacyMemoryBase = 0xA0000;

    /// <summary>The size of the legacy video memory window (128 KiB).</summary>
    public const int LegacyMemorySizeInBytes = 0x20000;

    private const int CrtcRegisterCount = 0x19;
    private const int SequencerRegisterCount = 5;
    private const int GraphicsRegisterCount = 9;
    private const int AttributeRegisterCount = 0x15;

    // Mode 03h register values (IBM VGA Technical Reference, "Video Modes" parameter table).
    private static ReadOnlySpan<byte> Mode3Sequencer => [0x03, 0x00, 0x03, 0x00, 0x02];

    private static ReadOnlySpan<byte> Mode3Crtc =>
    [
        0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00,
        0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
    ];

    private static ReadOnlySpan<byte> Mode3Graphics => [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF];

    private static ReadOnlySpan<byte> Mode3Attribute =>
    [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F,
        0x0C, 0x00, 0x0F, 0x08, 0x00,
    ];

    private readonly ILogger _logger;
    private readonly PortBinding[] _bindings;
    private readonly byte[] _planes = new byte[4 * PlaneSizeInBytes];
    private readonly byte[] _sequencer = new byte[SequencerRegisterCount];
    private readonly byte[] _crtc = new byte[CrtcRegisterCount];
    private readonly byte[] _graphics = new byte[GraphicsRegisterCount];
    private readonly byte[] _attribute = new byte[AttributeRegisterCount];
    private readonly byte[] _dac = new byte[256 * 3];
    private readonly byte[] _dacLatch = new byte[3];
    private byte _miscOutput;
    private byte _sequencerIndex;
    private byte _crtcIndex;
    private byte _graphicsIndex;
    private byte _attributeIndex;
    private bool _attributeFlipFlopData;
    private byte _dacPixelMask;
    private byte _dacReadIndex;
    private byte _dacWriteIndex;
    private byte _dacComponent;
    private bool _dacReadMode;
    private int _retraceCounter;

    /// <summary>Creates the adapter in mode 03h with blank (zeroed) video memory.</summary>
    /// <param name="options">Name; defaults when null.</param>
    /// <param name="logger">Logs counted guest misuse at debug level; none when null.</param>
    public VgaAdapter(VgaOptions? options = null, ILogger<VgaAdapter>? logger = null)
    {
        options ??= new VgaOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.Name);
        ulong vram = options.VideoMemorySizeInBytes;
        if (vram < MinimumVideoMemorySizeInBytes || vram > MaximumVideoMemorySizeInBytes || (vram & (vram - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"VgaOptions.VideoMemorySizeInBytes: {vram} bytes is not a power of two from 1 MiB to 256 MiB.");
        }

        Name = options.Name;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _vram = new VgaLinearMemory((int)vram);
        MemoryWindow = new VgaMemoryWindow(this, TextMemoryBase - LegacyMemoryBase, TextMemorySizeInBytes);
        LegacyMemoryWindow = new VgaMemoryWindow(this, 0, LegacyMemorySizeInBytes);
        LinearFramebuffer = new VgaLinearFramebufferWindow(this);
        BochsVbeEnabled = options.BochsVbe;
        var bindings = new List<PortBinding>
        {
            new PortBinding(Name + " CRTC (mono)", 0x3B4, 2, new VgaPortHandler(this, 0x3B4)),
            new PortBinding(Name + " status (mono)", 0x3BA, 1, new VgaPortHandler(this, 0x3BA)),
            new PortBinding(Name, 0x3C0, 16, new VgaPortHandler(this, 0x3C0)),
            new PortBinding(Name + " CRTC (colour)", 0x3D4, 2, new VgaPortHandler(this, 0x3D4)),
            new PortBinding(Name + " status (colour)", 0x3DA, 1, new VgaPortHandler(this, 0x3DA)),
        };
        if (options.BochsVbe)
        {
            bindings.Add(new PortBinding(Name + " VBE (DISPI)", VbeIndexPort, VbePortCount, new VgaVbePortHandler(this)));
        }

        _bindings = [.. bindings];
        LoadBuiltInFont();
        Reset();
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings => _bindings;

    /// <summary>
    /// The text memory window alone: register it at <see cref="TextMemoryBase"/> with <see cref="TextMemorySizeInBytes"/>
    /// bytes. It is the last 32 KiB of <see cref="LegacyMemoryWindow"/>; register one or the other.
    /// </summary>
    public IMmioDevice MemoryWindow { get; }

    /// <summary>
    /// The whole legacy window A0000h-BFFFFh, decoded as the graphics controller's memory map select says (and as the
    /// VBE bank window at A0000h while a VBE mode is on): register it at <see cref="LegacyMemoryBase"/> with
    /// <see cref="LegacyMemorySizeInBytes"/> bytes.
    /// </summary>
    public IMmioDevice LegacyMemoryWindow { get; }

    /// <summary>The linear framebuffer (all of the VBE video memory, <see cref="VideoMemorySizeInBytes"/>): a PCI BAR or a fixed MMIO window.</summary>
    public IMmioDevice LinearFramebuffer { get; }

    /// <summary>The size of the VBE video memory (the linear framebuffer).</summary>
    public int VideoMemorySizeInBytes => _vram.SizeInBytes;

    /// <summary>Whether the Bochs VBE ports (1CEh/1CFh) exist.</summary>
    public bool BochsVbeEnabled { get; }

    /// <summary>The number of guest accesses that made no sense (register indexes out of range), counted, never thrown.</summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>Text columns, from the CRTC horizontal display end (80 in mode 03h).</summary>
    public int TextColumns => Math.Clamp(_crtc[0x01] + 1, 1, 256);

    /// <summary>Text rows, from the CRTC vertical display end and maximum scan line (25 in mode 03h).</summary>
    public int TextRows
    {
        get
        {
            int verticalDisplayEnd = _crtc[0x12] | ((_crtc[0x07] & 0x02) << 7) | ((_crtc[0x07] & 0x40) << 3);
            return Math.Clamp((verticalDisplayEnd + 1) / CharacterHeight, 1, 128);
        }
    }

    /// <summary>The cursor's cell, from the CRTC cursor location relative to the start address.</summary>
    public (int Row, int Column) CursorPosition
    {
        get
        {
            int offset = CursorLocation - StartAddress;
            int pitch = RowPitch;
            if (offset < 0 || pitch == 0)
            {
                return (-1, -1);
            }

            return (offset / pitch, offset % pitch);
        }
    }

    /// <summary>Whether the cursor is enabled (CRTC cursor start register bit 5 clear).</summary>
    public bool CursorVisible => (_crtc[0x0A] & 0x20) == 0;

    private int CharacterHeight => (_crtc[0x09] & 0x1F) + 1;

    private int CharacterWidth => (_sequencer[0x01] & 0x01) != 0 ? 8 : 9;

    private int StartAddress => (_crtc[0x0C] << 8) | _crtc[0x0D];

    private int CursorLocation => (_crtc[0x0E] << 8) | _crtc[0x0F];

    private int RowPitch => _crtc[0x13] * 2; // in character cells: word mode, the offset register counts words

    private bool ColourAddressing => (_miscOutput & 0x01) != 0;

    /// <summary>The screen as text, one string per row, characters mapped from code page 437 (00h as a space).</summary>
    /// <param name="trimTrailingSpaces">Whether to trim spaces at the end of each row.</param>
    /// <returns>The rows, top first.</returns>
    public string[] GetScreenText(bool trimTrailingSpaces = true)
    {
        int rows = TextRows;
        int columns = TextColumns;
        string[] result = new string[rows];
        var line = new StringBuilder(columns);
        for (int row = 0; row < rows; row++)
        {
            line.Clear();
            for (int column = 0; column < columns; column++)
            {
                line.Append(CodePage437.ToChar(GetCharacterCode(row, column)));
            }

            string text = line.ToString();
            result[row] = trimTrailingSpaces ? text.TrimEnd(' ') : text;
        }

        return result;
    }

    /// <summary>The character code in a cell.</summary>
    /// <param name="row">The row from the top of the displayed screen.</param>
    /// <param name="column">The column.</param>
    /// <returns>The code.</returns>
    public byte GetCharacterCode(int row, int column) => _planes[CellAddress(row, column)];

    /// <summary>The attribute byte of a cell (bits 0-3 foreground, 4-6 background, 7 blink or bright background).</summary>
    /// <param name="row">The row from the top of the displayed screen.</param>
    /// <param name="column">The column.</param>
    /// <returns>The attribute.</returns>
    public byte GetAttribute(int row, int column) => _planes[PlaneSizeInBytes + CellAddress(row, column)];

    /// <summary>The RGB colour (0xRRGGBB) the DAC shows for a 4-bit text colour index through the attribute palette.</summary>
    /// <param name="colorIndex">0-15.</param>
    /// <returns>The colour.</returns>
    public int GetTextColorRgb(int colorIndex)
    {
        int index = (colorIndex & 0x0F) & (_attribute[0x12] & 0x0F);
        int dacIndex = _attribute[index] & 0x3F;
        byte mode = _attribute[0x10];
        byte colorSelect = _attribute[0x14];
        if ((mode & 0x80) != 0)
        {
            dacIndex = (dacIndex & 0x0F) | ((colorSelect & 0x03) << 4);
        }

        dacIndex |= (colorSelect & 0x0C) << 4;
        return DacRgb(dacIndex);
    }

    /// <summary>The RGB colour (0xRRGGBB) of a DAC entry after the pixel mask, components expanded from 6 bits (or taken as 8 bits with the VBE 8-bit DAC).</summary>
    /// <param name="dacIndex">0-255.</param>
    /// <returns>The colour.</returns>
    public int DacRgb(int dacIndex)
    {
        int i = (dacIndex & _dacPixelMask & 0xFF) * 3;
        if (DacIsEightBit)
        {
            return (_dac[i] << 16) | (_dac[i + 1] << 8) | _dac[i + 2];
        }

        return (Expand6(_dac[i]) << 16) | (Expand6(_dac[i + 1]) << 8) | Expand6(_dac[i + 2]);
    }

    /// <summary>Puts the adapter in mode 03h: registers as the BIOS sets them, the default EGA palette in the DAC. Video memory is kept, as a reset keeps DRAM.</summary>
    public void Reset()
    {
        _miscOutput = 0x67;
        Mode3Sequencer.CopyTo(_sequencer);
        Mode3Crtc.CopyTo(_crtc);
        Mode3Graphics.CopyTo(_graphics);
        Mode3Attribute.CopyTo(_attribute);
        _sequencerIndex = _crtcIndex = _graphicsIndex = 0;
        _attributeIndex = 0x20; // palette address source set: display enabled
        _attributeFlipFlopData = false;
        _dacPixelMask = 0xFF;
        _dacReadIndex = _dacWriteIndex = _dacComponent = 0;
        _dacReadMode = false;
        Array.Clear(_dacLatch);
        Array.Clear(_dac);
        for (int i = 0; i < 64; i++)
        {
            // The EGA-compatible 64 colours: bits 0-2 give 2/3 intensity of blue, green, red; bits 3-5 add 1/3.
            _dac[i * 3] = (byte)((((i >> 2) & 1) * 0x2A) + (((i >> 5) & 1) * 0x15));
            _dac[(i * 3) + 1] = (byte)((((i >> 1) & 1) * 0x2A) + (((i >> 4) & 1) * 0x15));
            _dac[(i * 3) + 2] = (byte)(((i & 1) * 0x2A) + (((i >> 3) & 1) * 0x15));
        }

        _retraceCounter = 0;
        _latches = 0;
        ResetVbe();
    }

    /// <summary>Clears video memory to blank cells (space on light grey over black, attribute 07h), as the BIOS does on a mode set.</summary>
    public void ClearTextScreen()
    {
        for (int address = 0; address < PlaneSizeInBytes; address += 2)
        {
            _planes[address] = 0x20;
            _planes[PlaneSizeInBytes + address] = 0x07;
        }
    }

    /// <inheritdoc/>
    public VgaState SaveState() => new(
        VgaState.CurrentVersion, (byte[])_planes.Clone(), _miscOutput, _sequencerIndex, (byte[])_sequencer.Clone(),
        _crtcIndex, (byte[])_crtc.Clone(), _graphicsIndex, (byte[])_graphics.Clone(), _attributeIndex,
        _attributeFlipFlopData, (byte[])_attribute.Clone(), _dacPixelMask, _dacReadIndex, _dacWriteIndex,
        _dacComponent, _dacReadMode, (byte[])_dacLatch.Clone(), (byte[])_dac.Clone(), _retraceCounter)
    {
        Latches = _latches,
        VbeIndex = _vbeIndex,
        VbeRegisters = (ushort[])_vbe.Clone(),
        VideoMemoryChunks = _vram.SaveChunks(),
    };

    /// <inheritdoc/>
    public void RestoreState(VgaState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != VgaState.CurrentVersion ||
            state.VideoMemory?.Length != _planes.Length || state.Sequencer?.Length != _sequencer.Length ||
            state.Crtc?.Length != _crtc.Length || state.Graphics?.Length != _graphics.Length ||
            state.Attribute?.Length != _attribute.Length || state.DacLatch?.Length != _dacLatch.Length ||
            state.DacPalette?.Length != _dac.Length || state.DacComponent > 2 ||
            state.VbeRegisters?.Length != _vbe.Length || !_vram.CanRestore(state.VideoMemoryChunks))
        {
            throw new ArgumentException($"{Name}: invalid VgaState (version {state.Version}, expected {VgaState.CurrentVersion}, or an array of the wrong length).", nameof(state));
        }

        state.VideoMemory.CopyTo(_planes, 0);
        _miscOutput = state.MiscOutput;
        _sequencerIndex = state.SequencerIndex;
        state.Sequencer.CopyTo(_sequencer, 0);
        _crtcIndex = state.CrtcIndex;
        state.Crtc.CopyTo(_crtc, 0);
        _graphicsIndex = state.GraphicsIndex;
        state.Graphics.CopyTo(_graphics, 0);
        _attributeIndex = state.AttributeIndex;
        _attributeFlipFlopData = state.AttributeFlipFlopData;
        state.Attribute.CopyTo(_attribute, 0);
        _dacPixelMask = state.DacPixelMask;
        _dacReadIndex = state.DacReadIndex;
        _dacWriteIndex = state.DacWriteIndex;
        _dacComponent = state.DacComponent;
        _dacReadMode = state.DacReadMode;
        state.DacLatch.CopyTo(_dacLatch, 0);
        state.DacPalette.CopyTo(_dac, 0);
        _retraceCounter = state.RetraceCounter;
        _latches = state.Latches;
        _vbeIndex = state.VbeIndex;
        state.VbeRegisters.CopyTo(_vbe, 0);
        _vram.RestoreChunks(state.VideoMemoryChunks);
    }

    internal byte ReadPort(ushort port)
    {
        switch (port)
        {
            case 0x3B4 or 0x3D4:
                return IsActiveCrtcPort(port) ? _crtcIndex : (byte)0xFF;
            case 0x3B5 or 0x3D5:
                if (!IsActiveCrtcPort(port))
                {
                    return 0xFF;
                }

                return _crtcIndex < CrtcRegisterCount ? _crtc[_crtcIndex] : (byte)0xFF;
            case 0x3BA or 0x3DA:
                if (!IsActiveCrtcPort(port))
                {
                    return 0xFF;
                }

                return ReadInputStatus1();
            case 0x3C0:
                return _attributeIndex;
            case 0x3C1:
                return (_attributeIndex & 0x1F) < AttributeRegisterCount ? _attribute[_attributeIndex & 0x1F] : (byte)0x00;
            case 0x3C2:
                return 0x10; // input status 0: switch sense high (a colour monitor is attached)
            case 0x3C3:
                return 0x01; // video subsystem enabled
            case 0x3C4:
                return _sequencerIndex;
            case 0x3C5:
                return _sequencerIndex < SequencerRegisterCount ? _sequencer[_sequencerIndex] : (byte)0xFF;
            case 0x3C6:
                return _dacPixelMask;
            case 0x3C7:
                return _dacReadMode ? (byte)0x03 : (byte)0x00;
            case 0x3C8:
                return _dacWriteIndex;
            case 0x3C9:
                return ReadDacData();
            case 0x3CA:
                return 0x00; // feature control
            case 0x3CC:
                return _miscOutput;
            case 0x3CE:
                return _graphicsIndex;
            case 0x3CF:
                return _graphicsIndex < GraphicsRegisterCount ? _graphics[_graphicsIndex] : (byte)0xFF;
            default:
                return 0xFF;
        }
    }

    internal void WritePort(ushort port, byte value)
    {
        switch (port)
        {
            case 0x3B4 or 0x3D4:
                if (IsActiveCrtcPort(port))
                {
                    _crtcIndex = value;
                }

                break;
            case 0x3B5 or 0x3D5:
                if (IsActiveCrtcPort(port))
                {
                    WriteCrtc(value);
                }

                break;
            case 0x3BA or 0x3DA:
                break; // feature control write: no features
            case 0x3C0:
                WriteAttribute(value);
                break;
            case 0x3C2:
                _miscOutput = value;
                break;
            case 0x3C4:
                _sequencerIndex = value;
                break;
            case 0x3C5:
                if (_sequencerIndex < SequencerRegisterCount)
                {
                    _sequencer[_sequencerIndex] = value;
                }
                else
                {
                    CountMisuse("sequencer index out of range", _sequencerIndex);
                }

                break;
            case 0x3C6:
                _dacPixelMask = value;
                break;
            case 0x3C7:
                _dacReadIndex = value;
                _dacComponent = 0;
                _dacReadMode = true;
                break;
            case 0x3C8:
                _dacWriteIndex = value;
                _dacComponent = 0;
                _dacReadMode = false;
                break;
            case 0x3C9:
                WriteDacData(value);
                break;
            case 0x3CE:
                _graphicsIndex = value;
                break;
            case 0x3CF:
                if (_graphicsIndex < GraphicsRegisterCount)
                {
                    _graphics[_graphicsIndex] = value;
                }
                else
                {
                    CountMisuse("graphics controller index out of range", _graphicsIndex);
                }

                break;
            default:
                CountMisuse("write to a read-only or unused VGA port", port);
                break;
        }
    }

    private static int Expand6(byte value) => ((value & 0x3F) * 255 + 31) / 63;

    private static void SetPixel(byte[] pixels, int index, int rgb)
    {
        pixels[index] = (byte)(rgb >> 16);
        pixels[index + 1] = (byte)(rgb >> 8);
        pixels[index + 2] = (byte)rgb;
        pixels[index + 3] = 0xFF;
    }

    private int OverscanRgb() => GetTextColorRgbFromDacIndex(_attribute[0x11]);

    private int GetTextColorRgbFromDacIndex(int dacIndex) => DacRgb(dacIndex);

    private int CellAddress(int row, int column)
    {
        // The CRTC in word mode scans every other byte: cell n lives at plane address 2n.
        int cell = StartAddress + (row * RowPitch) + column;
        return (cell * 2) & 0xFFFF;
    }

    private bool IsActiveCrtcPort(ushort port) => ColourAddressing ? (port & 0xFFF0) == 0x3D0 : (port & 0xFFF0) == 0x3B0;

    private byte ReadInputStatus1()
    {
        // There is no beam: each read advances a counter so polling loops see both phases. Bit 0 (display
        // disabled) toggles on every read, bit 3 (vertical retrace) is set on one read in four.
        _attributeFlipFlopData = false; // reading input status 1 resets the attribute flip-flop
        int counter = _retraceCounter;
        _retraceCounter = (_retraceCounter + 1) & 3;
        byte status = (byte)((counter & 1) != 0 ? 0x01 : 0x00);
        if (counter == 3)
        {
            status |= 0x08;
        }

        return status;
    }

    private void WriteCrtc(byte value)
    {
        if (_crtcIndex >= CrtcRegisterCount)
        {
            CountMisuse("CRTC index out of range", _crtcIndex);
            return;
        }

        // Vertical retrace end (11h) bit 7 write-protects registers 00h-07h, except the line compare bit (07h bit 4).
        if ((_crtc[0x11] & 0x80) != 0 && _crtcIndex <= 0x07)
        {
            if (_crtcIndex == 0x07)
            {
                _crtc[0x07] = (byte)((_crtc[0x07] & ~0x10) | (value & 0x10));
            }

            return;
        }

        _crtc[_crtcIndex] = value;
    }

    private void WriteAttribute(byte value)
    {
        if (!_attributeFlipFlopData)
        {
            _attributeIndex = (byte)(value & 0x3F);
        }
        else
        {
            int index = _attributeIndex & 0x1F;
            if (index < AttributeRegisterCount)
            {
                _attribute[index] = value;
            }
            else
            {
                CountMisuse("attribute controller index out of range", index);
            }
        }

        _attributeFlipFlopData = !_attributeFlipFlopData;
    }

    private byte ReadDacData()
    {
        byte value = _dac[(_dacReadIndex * 3) + _dacComponent];
        if (++_dacComponent == 3)
        {
            _dacComponent = 0;
            _dacReadIndex++;
        }

        return value;
    }

    private void WriteDacData(byte value)
    {
        // With the VBE 8-bit DAC on (DISPI ENABLE bit 5) the components keep all 8 bits; a VGA DAC keeps 6.
        _dacLatch[_dacComponent] = DacIsEightBit ? value : (byte)(value & 0x3F);
        if (++_dacComponent == 3)
        {
            _dacComponent = 0;
            _dacLatch.CopyTo(_dac, _dacWriteIndex * 3);
            _dacWriteIndex++;
        }
    }

    private void CountMisuse(string what, int value)
    {
        long count = ++GuestMisuseCount;
        if ((count <= 16 || (count & (count - 1)) == 0) && _logger.IsEnabled(LogLevel.Debug))
        {
            VgaLog.GuestMisuse(_logger, Name, what, value, count);
        }
    }
}

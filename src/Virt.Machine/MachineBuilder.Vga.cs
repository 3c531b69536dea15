using Microsoft.Extensions.Logging;
using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>The display adapter options of the builder.</summary>
public sealed partial class MachineBuilder
{
    /// <summary>The PCI device number QEMU's <c>pc</c> machine gives the VGA.</summary>
    private const int VgaPciSlot = 2;

    private VgaKind _vgaKind = VgaKind.Isa;
    private string? _vgaRomPath;
    private byte[]? _vgaRom;
    private ulong _vgaMemorySize = VgaOptions.DefaultVideoMemorySizeInBytes;

    /// <summary>
    /// Chooses the display adapter (default <see cref="VgaKind.Standard"/> on <see cref="MachineBoard.Pc"/>, <see cref="VgaKind.Isa"/> on <see cref="MachineBoard.IsaPc"/>). <see cref="VgaKind.Standard"/> is QEMU's
    /// <c>-vga std</c> and needs <see cref="WithPciBus"/>; its option ROM (for example Debian's
    /// <c>/usr/share/seabios/vgabios-stdvga.bin</c>) goes in the card's expansion ROM, where firmware such as SeaBIOS
    /// finds and runs it. Without a ROM the card works for guests that program it themselves. See docs/vga.md.
    /// </summary>
    /// <param name="kind">The adapter.</param>
    /// <param name="optionRomPath">The VGA BIOS file for <see cref="VgaKind.Standard"/> (read by <see cref="Build"/>), or null for none.</param>
    /// <param name="videoMemorySizeInBytes">The VBE video memory (the linear framebuffer): a power of two from 1 MiB to 256 MiB, default 16 MiB.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithVga(VgaKind kind, string? optionRomPath = null, ulong videoMemorySizeInBytes = VgaOptions.DefaultVideoMemorySizeInBytes)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, $"Not a {nameof(VgaKind)}.");
        }

        if (optionRomPath is not null && kind != VgaKind.Standard)
        {
            throw new ArgumentException($"An option ROM needs VgaKind.Standard (the PCI card), not {kind}.", nameof(optionRomPath));
        }

        _vgaKind = kind;
        MarkExplicit(BoardSettings.Vga);
        _vgaRomPath = optionRomPath;
        _vgaRom = null;
        _vgaMemorySize = videoMemorySizeInBytes;
        return this;
    }

    /// <summary>The display adapter chosen with <see cref="WithVga"/>.</summary>
    internal VgaKind Vga => _vgaKind;

    private void CopyVgaConfiguration(MachineBuilder other)
    {
        _vgaKind = other._vgaKind;
        _vgaRomPath = other._vgaRomPath;
        _vgaRom = other._vgaRom;
        _vgaMemorySize = other._vgaMemorySize;
    }

    /// <summary>Checks the display options and reads the option ROM, once (forks reuse the bytes).</summary>
    private void PrepareVga()
    {
        if (_vgaMemorySize < VgaAdapter.MinimumVideoMemorySizeInBytes || _vgaMemorySize > VgaAdapter.MaximumVideoMemorySizeInBytes || (_vgaMemorySize & (_vgaMemorySize - 1)) != 0)
        {
            throw new MachineConfigurationException($"WithVga: video memory of {_vgaMemorySize} bytes is not a power of two from 1 MiB to 256 MiB.");
        }

        if (_vgaKind == VgaKind.Standard && !_pciBus)
        {
            throw new MachineConfigurationException("WithVga(VgaKind.Standard): the std VGA is a PCI card; call WithPciBus() as well.");
        }

        if (_vgaRomPath is not null && _vgaRom is null)
        {
            try
            {
                _vgaRom = File.ReadAllBytes(_vgaRomPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new MachineConfigurationException($"WithVga: cannot read the VGA option ROM '{_vgaRomPath}': {e.Message}", e);
            }

            // PCI Firmware Specification 3.0, 5.1: an option ROM image starts with 55h AAh.
            if (_vgaRom.Length < 3 || _vgaRom[0] != 0x55 || _vgaRom[1] != 0xAA || _vgaRom.Length > 16 << 20)
            {
                throw new MachineConfigurationException($"WithVga: '{_vgaRomPath}' is not a PCI option ROM (no 55h AAh signature, or larger than 16 MiB).");
            }
        }
    }

    /// <summary>Creates the adapter and maps its legacy window; null for <see cref="VgaKind.None"/>.</summary>
    private VgaAdapter? CreateVga(List<IDevice> devices, PhysicalMemoryMapBuilder mapBuilder)
    {
        if (_vgaKind == VgaKind.None)
        {
            return null;
        }

        var vga = new VgaAdapter(new VgaOptions { VideoMemorySizeInBytes = _vgaMemorySize }, _loggerFactory.CreateLogger<VgaAdapter>());
        devices.Add(vga);
        mapBuilder.AddMmio("vga-memory", new PhysicalAddress(VgaAdapter.LegacyMemoryBase), VgaAdapter.LegacyMemorySizeInBytes, vga.LegacyMemoryWindow);
        return vga;
    }

    /// <summary>The std VGA card for the PCI board, at 00:02.0 unless the host asked for that slot; null otherwise.</summary>
    private (PciDevice Device, int? Slot, string Option)? CreateVgaCard(VgaAdapter? vga)
    {
        if (_vgaKind != VgaKind.Standard || vga is null)
        {
            return null;
        }

        bool slotTaken = _pciDevices.Any(d => d.Slot == VgaPciSlot);
        return (new StandardVgaPciDevice(vga, _vgaRom ?? []), slotTaken ? null : VgaPciSlot, "WithVga(VgaKind.Standard)");
    }
}

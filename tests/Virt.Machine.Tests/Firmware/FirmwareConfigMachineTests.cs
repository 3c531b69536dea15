using System.Buffers.Binary;
using System.Text;
using Iced.Intel;
using Virt.Devices;
using Virt.Devices.FwCfg;
using Virt.Machine.Acpi;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Boot;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Firmware;

/// <summary>A guest reads fw_cfg through the ports and through DMA, as SeaBIOS does, in a machine built with WithFirmwareConfig.</summary>
public sealed class FirmwareConfigMachineTests
{
    private const ushort PortSignature = 0x0500;      // "QEMU" read through the data port
    private const ushort PortDirectory = 0x0600;      // the directory read through the data port
    private const ushort DmaSignature = 0x0580;       // the DMA register's "QEMU CFG"
    private const ushort DmaAccess = 0x7E00;          // the FWCfgDmaAccess structure (in the image)
    private const ushort DmaDirectory = 0x1000;       // the directory read through DMA
    private const int DirectoryBytes = 4 + (8 * 64);  // the count and up to eight entries

    [Fact]
    public void Guest_reads_signature_and_directory_through_ports_and_dma()
    {
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithFirmwareConfig(new FirmwareConfigOptions { BootOrder = "/pci@i0cf8/ide@1,1/drive@0/disk@0\n" })
            .WithAcpi()
            .WithDebugExit()
            .WithFlatBinary(Guest(), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "fw_cfg guest"))
            .Build();

        MachineStopReason stop = machine.Run(maxInstructions: 200_000);
        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);

        Assert.Equal("QEMU", Encoding.ASCII.GetString(Read(machine, PortSignature, 4)));
        Assert.Equal("QEMU CFG", Encoding.ASCII.GetString(Read(machine, DmaSignature, 8)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(Read(machine, DmaAccess, 4))); // control cleared: success

        byte[] viaPorts = Read(machine, PortDirectory, DirectoryBytes);
        byte[] viaDma = Read(machine, DmaDirectory, DirectoryBytes);
        Assert.Equal(viaPorts, viaDma);
        int count = (int)BinaryPrimitives.ReadUInt32BigEndian(viaPorts);
        string[] names = [.. Enumerable.Range(0, count).Select(i => Encoding.ASCII.GetString(viaPorts, 4 + (i * 64) + 8, 56).TrimEnd('\0'))];
        Assert.Equal(["bootorder", "etc/acpi/rsdp", "etc/acpi/tables", "etc/boot-fail-wait", "etc/e820", "etc/smbios/smbios-anchor", "etc/smbios/smbios-tables", "etc/table-loader"], names);
    }

    [Fact]
    public void Firmware_config_serves_ram_size_e820_and_cpu_count()
    {
        using Machine machine = new MachineBuilder().WithBoard(MachineBoard.IsaPc).WithMemorySize(64UL << 20).WithFirmwareConfig().Build();
        FwCfgDevice device = Assert.Single(machine.Devices.OfType<FwCfgDevice>());
        Assert.Equal(64UL << 20, BinaryPrimitives.ReadUInt64LittleEndian(device.GetItem(FwCfgKeys.RamSize)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(device.GetItem(FwCfgKeys.NumberOfCpus)));
        ushort e820Key = device.Files.Single(f => f.Name == "etc/e820").Key;
        byte[] e820 = device.GetItem(e820Key)!;
        Assert.Equal(20, e820.Length); // one RAM entry: 0 to the top of RAM, as QEMU lists it
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(e820));
        Assert.Equal(64UL << 20, BinaryPrimitives.ReadUInt64LittleEndian(e820.AsSpan(8)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(e820.AsSpan(16)));
        Assert.DoesNotContain(device.Files, f => f.Name.StartsWith("etc/acpi", StringComparison.Ordinal)); // ACPI is off on the ISA board
    }

    [Fact]
    public void Seabios_settings_go_to_fw_cfg_files_and_the_cmos_boot_order()
    {
        using Machine machine = new MachineBuilder()
            .WithFirmwareConfig(new FirmwareConfigOptions { SerialConsolePort = 0x3F8, LegacyBootOrder = "dc" })
            .Build();
        FwCfgDevice device = Assert.Single(machine.Devices.OfType<FwCfgDevice>());
        byte[] sercon = device.GetItem(device.Files.Single(f => f.Name == "etc/sercon-port").Key)!;
        Assert.Equal(0x3F8, BinaryPrimitives.ReadUInt16LittleEndian(sercon));
        byte[] wait = device.GetItem(device.Files.Single(f => f.Name == "etc/boot-fail-wait").Key)!;
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(wait)); // wait for ever, as QEMU by default
        Virt.Devices.Rtc146818 rtc = Assert.Single(machine.Devices.OfType<Virt.Devices.Rtc146818>());
        Assert.Equal("dc", CmosBootOrder.Decode(rtc.ReadCmos(CmosBootOrder.FirstAndSecondOffset), rtc.ReadCmos(CmosBootOrder.ThirdOffset)));
    }

    [Fact]
    public void Without_a_serial_console_there_is_no_sercon_file_and_the_default_order_is_qemus()
    {
        using Machine machine = new MachineBuilder().WithFirmwareConfig(new FirmwareConfigOptions { BootFailWaitMilliseconds = 5000 }).Build();
        FwCfgDevice device = Assert.Single(machine.Devices.OfType<FwCfgDevice>());
        Assert.DoesNotContain(device.Files, f => f.Name == "etc/sercon-port");
        Assert.Equal(5000u, BinaryPrimitives.ReadUInt32LittleEndian(device.GetItem(device.Files.Single(f => f.Name == "etc/boot-fail-wait").Key)));
        Virt.Devices.Rtc146818 rtc = Assert.Single(machine.Devices.OfType<Virt.Devices.Rtc146818>());
        Assert.Equal(0x12, rtc.ReadCmos(CmosBootOrder.FirstAndSecondOffset));
        Assert.Equal(0x30, rtc.ReadCmos(CmosBootOrder.ThirdOffset));
    }

    [Fact]
    public void A_bad_legacy_boot_order_is_refused_naming_the_option()
    {
        MachineConfigurationException e = Assert.Throws<MachineConfigurationException>(() =>
            new MachineBuilder().WithFirmwareConfig(new FirmwareConfigOptions { LegacyBootOrder = "cx" }).Build());
        Assert.Contains("LegacyBootOrder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Firmware_config_carries_a_kernel_split_into_setup_and_protected_mode_parts()
    {
        string path = Path.GetTempFileName();
        try
        {
            byte[] image = TestImages.BzImage();
            File.WriteAllBytes(path, image);
            using Machine machine = new MachineBuilder().WithFirmwareConfig(new FirmwareConfigOptions { KernelPath = path, CommandLine = "console=ttyS0" }).Build();
            FwCfgDevice device = machine.Devices.OfType<FwCfgDevice>().Single();
            int setupSize = (image[0x1F1] + 1) * 512;
            Assert.Equal((uint)setupSize, BinaryPrimitives.ReadUInt32LittleEndian(device.GetItem(FwCfgKeys.SetupSize)));
            Assert.Equal(image[setupSize..], device.GetItem(FwCfgKeys.KernelData));
            Assert.Equal("console=ttyS0\0"u8.ToArray(), device.GetItem(FwCfgKeys.CommandLineData));
            byte[] setup = device.GetItem(FwCfgKeys.SetupData)!;
            Assert.Equal(FirmwareConfigKernel.CommandLineAddress, BinaryPrimitives.ReadUInt32LittleEndian(setup.AsSpan(0x228))); // cmd_line_ptr
            Assert.Equal(0xB0, setup[0x210]); // type_of_loader
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_snapshot_keeps_the_selected_item_and_read_offset()
    {
        using Machine first = new MachineBuilder().WithFirmwareConfig().Build();
        FwCfgDevice device = first.Devices.OfType<FwCfgDevice>().Single();
        device.Select(FwCfgKeys.Signature);
        device.ReadData();
        device.ReadData();
        using var stream = new MemoryStream();
        first.SaveSnapshot(stream);

        using Machine second = new MachineBuilder().WithFirmwareConfig().Build();
        stream.Position = 0;
        second.RestoreSnapshot(stream);
        FwCfgDevice restored = second.Devices.OfType<FwCfgDevice>().Single();
        Assert.Equal((byte)'M', restored.ReadData()); // "QEMU": two bytes were read before the snapshot
        Assert.Equal((byte)'U', restored.ReadData());
    }

    [Fact]
    public void Acpi_with_firmware_but_without_fw_cfg_is_refused()
    {
        MachineConfigurationException e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithBoard(MachineBoard.IsaPc)
            .WithFirmware(GuestPrograms.FirmwareThatPrints("x", 1)).WithAcpi().Build());
        Assert.Contains("WithFirmwareConfig", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Direct_boot_places_the_rsdp_in_the_bios_area_and_the_tables_in_ram()
    {
        using Machine machine = new MachineBuilder()
            .WithMemorySize(32UL << 20)
            .WithAcpi()
            .WithFlatBinary(GuestPrograms.PrintAndExit(string.Empty, 0), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        byte[] rsdp = Read(machine, (uint)AcpiDirectPlacement.RsdpAddress, 36);
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
        Assert.Equal(0, Sum(rsdp));
        ulong xsdt = BinaryPrimitives.ReadUInt64LittleEndian(rsdp.AsSpan(24));
        Assert.InRange(xsdt, 31UL << 20, (32UL << 20) - 1); // in the last MiB below the top of RAM
        byte[] header = Read(machine, (uint)xsdt, 36);
        Assert.Equal("XSDT", Encoding.ASCII.GetString(header, 0, 4));
        byte[] table = Read(machine, (uint)xsdt, (int)BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)));
        Assert.Equal(0, Sum(table));
        ulong fadt = BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(36));
        Assert.Equal("FACP", Encoding.ASCII.GetString(Read(machine, (uint)fadt, 4)));
    }

    [Fact]
    public void Direct_boot_on_the_pci_board_puts_the_rsdp_in_read_only_shadow_ram()
    {
        // The PCI board's BIOS area is PAM-controlled shadow ROM (no plain RAM can overlap it): the machine opens the
        // shadow as firmware would, writes the RSDP and leaves E0000h-FFFFFh read-only shadow RAM, at every boot.
        using Machine machine = new MachineBuilder()
            .WithMemorySize(32UL << 20)
            .WithPciBus()
            .WithAcpi()
            .WithFlatBinary(GuestPrograms.PrintAndExit(string.Empty, 0), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        I440fxHostBridge hostBridge = machine.Devices.OfType<I440fxHostBridge>().Single();
        for (int segment = 0; segment < I440fxHostBridge.PamSegments.Count; segment++)
        {
            bool biosArea = I440fxHostBridge.PamSegments[segment].Start >= AcpiDirectPlacement.BiosAreaStart;
            Assert.Equal(biosArea ? ShadowMode.ReadFromRam : ShadowMode.ReadRomWriteIgnored, hostBridge.GetShadowMode(segment));
        }

        for (int boot = 0; boot < 2; boot++)
        {
            byte[] rsdp = Read(machine, (uint)AcpiDirectPlacement.RsdpAddress, 36);
            Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
            Assert.Equal(0, Sum(rsdp));
            machine.Memory.Write(new PhysicalAddress(AcpiDirectPlacement.RsdpAddress), [0x00]);
            Assert.Equal((byte)'R', Read(machine, (uint)AcpiDirectPlacement.RsdpAddress, 1)[0]);
            machine.Reset();
        }
    }

    [Fact]
    public void A_linux_kernel_booted_directly_gets_the_acpi_range_in_its_e820_map()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, TestImages.BzImage());
            using Machine machine = new MachineBuilder().WithMemorySize(64UL << 20).WithAcpi().WithKernel(path).Build();
            byte[] zeroPage = Read(machine, BootMemoryLayout.LinuxBootParamsAddress, 4096);
            int count = zeroPage[0x1E8]; // e820_entries
            var types = new List<uint>();
            ulong acpiStart = 0;
            for (int i = 0; i < count; i++)
            {
                Span<byte> entry = zeroPage.AsSpan(0x2D0 + (i * 20), 20); // e820_table: address, size, type
                types.Add(BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]));
                if (types[^1] == 3)
                {
                    acpiStart = BinaryPrimitives.ReadUInt64LittleEndian(entry);
                }
            }

            Assert.Contains(3u, types);
            byte[] rsdp = Read(machine, (uint)AcpiDirectPlacement.RsdpAddress, 36);
            Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
            Assert.InRange(BinaryPrimitives.ReadUInt32LittleEndian(rsdp.AsSpan(16)), acpiStart, (64UL << 20) - 1); // the RSDT lies in the ACPI range
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Direct_placement_reports_the_tables_as_acpi_memory_in_e820()
    {
        AcpiTableSet tables = AcpiTableBuilder.Build(new AcpiPlatformDescription());
        (IReadOnlyList<E820Entry> map, ulong address) = AcpiDirectPlacement.Reserve(E820Map.CreatePc(32UL << 20), tables);
        E820Entry acpi = Assert.Single(map, e => e.Type == E820EntryType.Acpi);
        Assert.Equal(address, acpi.Start.Value);
        Assert.Equal(32UL << 20, acpi.LastAddress.Value + 1);
        Assert.True(acpi.SizeInBytes >= (ulong)tables.Tables.Length);
        Assert.Equal(address, map.Single(e => e.Type == E820EntryType.Ram && e.Start.Value == 0x10_0000).LastAddress.Value + 1);
    }

    private static byte[] Guest()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.cld();

            // Ports: select the signature (16-bit write to 510h), read four bytes from 511h.
            a.mov(dx, FwCfgOptions.DefaultSelectorPort);
            a.mov(ax, FwCfgKeys.Signature);
            a.@out(dx, ax);
            a.inc(dx);
            a.mov(di, PortSignature);
            a.mov(cx, 4);
            Label sig = a.CreateLabel();
            a.Label(ref sig);
            a.@in(al, dx);
            a.stosb();
            a.loop(sig);

            // Ports: the file directory.
            a.dec(dx);
            a.mov(ax, FwCfgKeys.FileDirectory);
            a.@out(dx, ax);
            a.inc(dx);
            a.mov(di, PortDirectory);
            a.mov(cx, DirectoryBytes);
            Label dir = a.CreateLabel();
            a.Label(ref dir);
            a.@in(al, dx);
            a.stosb();
            a.loop(dir);

            // DMA: the register reads "QEMU CFG".
            a.mov(dx, FwCfgOptions.DefaultDmaPort);
            a.@in(eax, dx);
            a.mov(__dword_ptr[DmaSignature], eax);
            a.add(dx, 4);
            a.@in(eax, dx);
            a.mov(__dword_ptr[DmaSignature + 4], eax);

            // DMA: the structure's address, big-endian, high half first; the low half starts the transfer.
            a.mov(dx, FwCfgOptions.DefaultDmaPort);
            a.xor(eax, eax);
            a.@out(dx, eax);
            a.add(dx, 4);
            a.mov(eax, BinaryPrimitives.ReverseEndianness((uint)DmaAccess));
            a.@out(dx, eax);

            a.mov(dx, 0x501);
            a.mov(al, 0);
            a.@out(dx, al);
            a.hlt();
        });

        byte[] image = new byte[0x400];
        code.CopyTo(image, 0);
        Span<byte> access = image.AsSpan(DmaAccess - 0x7C00, FwCfgDevice.DmaAccessSizeInBytes);
        BinaryPrimitives.WriteUInt32BigEndian(access, ((uint)FwCfgKeys.FileDirectory << 16) | (uint)(FwCfgDmaControl.Select | FwCfgDmaControl.Read));
        BinaryPrimitives.WriteUInt32BigEndian(access[4..], DirectoryBytes);
        BinaryPrimitives.WriteUInt64BigEndian(access[8..], DmaDirectory);
        return image;
    }

    private static byte[] Read(Machine machine, uint address, int count)
    {
        byte[] bytes = new byte[count];
        machine.Memory.Read(new PhysicalAddress(address), bytes);
        return bytes;
    }

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return sum;
    }
}

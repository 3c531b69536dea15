using System.Buffers.Binary;
using System.Text;
using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>
/// Boots a Linux bzImage through the 32-bit boot protocol (Documentation/arch/x86/boot.rst,
/// "32-bit Boot Protocol"), protocol 2.06 or later, without running the kernel's real-mode setup
/// code: it loads the protected-mode kernel, places the initrd and the command line, builds the
/// zero page with the e820 map, writes the boot GDT and returns the entry state (CS = 10h, DS = ES =
/// SS = 18h, ESI = zero page, EBP = EDI = EBX = 0, interrupts off, EIP = <c>code32_start</c>).
/// Layout: boot GDT at 500h, zero page at 7000h, command line at 20000h, kernel at 1 MiB (see
/// <see cref="LinuxKernelPlacement"/>), initrd as high as possible, page-aligned, below
/// min(<c>initrd_addr_max</c>, top of RAM below 4 GiB) and clear of the kernel's <c>init_size</c> area.
/// </summary>
public static class LinuxBootLoader
{
    /// <summary>
    /// <c>heap_end_ptr</c> written with CAN_USE_HEAP: the setup heap would end at 0xE000 from the start
    /// of the real-mode code (boot.rst's recommended layout). The 32-bit entry never runs that code, so
    /// this only keeps the zero page consistent for kernels that inspect it.
    /// </summary>
    public const ushort HeapEndPointer = 0xE000 - 0x200;

    /// <summary><c>type_of_loader</c>: 0xFF, "undefined" (boot.rst: Virt has no assigned loader ID).</summary>
    public const byte TypeOfLoader = 0xFF;

    private const ulong PageSize = 0x1000;

    /// <summary>Validates the kernel, initrd and options, then writes everything into guest memory.</summary>
    /// <param name="memory">Guest memory.</param>
    /// <param name="kernel">The bzImage (read from its start when seekable).</param>
    /// <param name="kernelName">The kernel's file name for messages.</param>
    /// <param name="options">The memory map, command line, initrd and placement.</param>
    /// <returns>The entry state and where everything went.</returns>
    /// <exception cref="BootImageException">
    /// When the kernel is corrupt, truncated, too old, too big for the RAM, the command line is longer than
    /// the kernel accepts, or the initrd does not fit; guest memory is then untouched.
    /// </exception>
    public static LinuxLoadResult Load(IGuestMemory memory, Stream kernel, string kernelName, LinuxBootOptions options)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.CommandLine, nameof(options));
        E820Entry[] map = E820Map.Validate(options.MemoryMap, nameof(options));
        if (map.Length > BootParamsLayout.E820MaxEntries)
        {
            throw new ArgumentException($"The e820 map has {map.Length} entries; the zero page holds at most {BootParamsLayout.E820MaxEntries}.", nameof(options));
        }

        byte[] image = BootImageReader.ReadAll(kernel, kernelName, nameof(kernel));
        LinuxSetupHeader header = LinuxSetupHeader.Parse(image, kernelName);

        byte[] commandLine = EncodeCommandLine(options.CommandLine, header, kernelName);
        byte[]? initrd = options.Initrd is null ? null : BootImageReader.ReadAll(options.Initrd, options.InitrdName, nameof(options));

        ulong kernelAddress = ChooseKernelAddress(header, options.Placement, kernelName);
        ReadOnlyMemory<byte> protectedMode = image.AsMemory(header.ProtectedModeOffset);
        ulong kernelEnd = kernelAddress + (ulong)protectedMode.Length;

        var plan = new GuestMemoryPlan();
        plan.Write("boot GDT", BootMemoryLayout.GdtAddress, BootGdt.ToBytes());
        plan.Reserve("boot stack", BootMemoryLayout.StackTop - BootMemoryLayout.StackSizeInBytes, BootMemoryLayout.StackSizeInBytes);
        plan.Write("command line", BootMemoryLayout.LinuxCommandLineAddress, commandLine);
        plan.Write("kernel", kernelAddress, protectedMode);

        // The kernel decompresses itself at its runtime start and needs init_size bytes from there before
        // it reads the e820 map (boot.rst, init_size). A relocatable kernel loaded below pref_address
        // (LOAD_PHYSICAL_ADDR) decompresses at pref_address; a non-relocatable one always does.
        ulong runtimeStart = RuntimeStart(header, kernelAddress);
        ulong initEnd = runtimeStart + header.InitSize;
        ulong reserveStart = Math.Max(runtimeStart, kernelEnd);
        if (initEnd > reserveStart)
        {
            plan.Reserve("kernel init_size area", reserveStart, initEnd - reserveStart);
        }

        // The RAM checks of the fixed pieces come first, so that "too big for RAM" names the kernel.
        plan.Validate(map, kernelName);

        AddressRange? initrdRange = null;
        if (initrd is { Length: > 0 })
        {
            ulong initrdAddress = PlaceInitrd(map, plan, header, (ulong)initrd.Length, options.InitrdName);
            plan.Write("initrd", initrdAddress, initrd);
            initrdRange = AddressRange.FromStartAndSize(new PhysicalAddress(initrdAddress), (ulong)initrd.Length);
        }

        byte[] bootParams = BuildBootParams(image, header, map, options.ScreenInfo, kernelAddress, initrdRange);
        plan.Write("boot_params", BootMemoryLayout.LinuxBootParamsAddress, bootParams);
        plan.Validate(map, kernelName);
        plan.Apply(memory);

        string version = header.KernelVersion.Length > 0 ? $", {header.KernelVersion}" : string.Empty;
        BootEntryState entry = BootEntryState.FlatProtectedMode(
            (uint)kernelAddress,
            $"Linux bzImage {kernelName} (boot protocol {header.VersionText}{version}) at 0x{kernelAddress:X8}, boot_params at 0x{BootMemoryLayout.LinuxBootParamsAddress:X8}")
            with { Esi = BootMemoryLayout.LinuxBootParamsAddress };
        return new LinuxLoadResult
        {
            Entry = entry,
            Header = header,
            KernelAddress = new PhysicalAddress(kernelAddress),
            BootParamsAddress = new PhysicalAddress(BootMemoryLayout.LinuxBootParamsAddress),
            CommandLineAddress = new PhysicalAddress(BootMemoryLayout.LinuxCommandLineAddress),
            InitrdRange = initrdRange,
            Regions = plan.Regions,
        };
    }

    private static byte[] EncodeCommandLine(string commandLine, LinuxSetupHeader header, string kernelName)
    {
        foreach (char c in commandLine)
        {
            if (c is '\0' or > '\x7E')
            {
                throw new ArgumentException($"The kernel command line may hold only printable ASCII characters; found U+{(int)c:X4}.", nameof(commandLine));
            }
        }

        if ((uint)commandLine.Length > header.CommandLineSize)
        {
            throw new BootImageException(kernelName, "cmdline_size", $"the command line is {commandLine.Length} bytes, longer than the {header.CommandLineSize} bytes this kernel accepts");
        }

        if (commandLine.Length >= BootMemoryLayout.MultibootInfoAreaEnd - BootMemoryLayout.LinuxCommandLineAddress)
        {
            throw new BootImageException(kernelName, "cmdline_size", $"the command line is {commandLine.Length} bytes, longer than Virt's command line area");
        }

        byte[] bytes = new byte[commandLine.Length + 1];
        Encoding.ASCII.GetBytes(commandLine, bytes);
        return bytes;
    }

    private static ulong ChooseKernelAddress(LinuxSetupHeader header, LinuxKernelPlacement placement, string kernelName)
    {
        if (placement != LinuxKernelPlacement.PreferredAddress || !header.RelocatableKernel || header.Version < 0x020A)
        {
            return BootMemoryLayout.LinuxKernelAddress;
        }

        ulong alignment = header.KernelAlignment;
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new BootImageException(kernelName, "kernel_alignment", $"0x{alignment:X} is not a power of two");
        }

        ulong address = (header.PreferredAddress + alignment - 1) & ~(alignment - 1);
        return address is < BootMemoryLayout.LinuxKernelAddress or > uint.MaxValue ? BootMemoryLayout.LinuxKernelAddress : address;
    }

    private static ulong RuntimeStart(LinuxSetupHeader header, ulong kernelAddress)
    {
        if (header.Version < 0x020A)
        {
            return kernelAddress;
        }

        ulong alignment = header.KernelAlignment;
        ulong aligned = alignment != 0 && (alignment & (alignment - 1)) == 0 ? (kernelAddress + alignment - 1) & ~(alignment - 1) : kernelAddress;
        if (!header.RelocatableKernel)
        {
            aligned = header.PreferredAddress;
        }

        return Math.Max(aligned, header.PreferredAddress);
    }

    private static ulong PlaceInitrd(E820Entry[] map, GuestMemoryPlan plan, LinuxSetupHeader header, ulong size, string initrdName)
    {
        // boot.rst: initrd_addr_max is the highest address the initrd may occupy; like QEMU we put the
        // initrd as high as possible below it and below the top of RAM under 4 GiB, page-aligned.
        ulong limit = Math.Min((ulong)header.InitrdAddressMax + 1, E820Map.FourGigabytes);
        IReadOnlyList<BootRegion> taken = plan.Regions;
        ulong topOfLowRam = 0;
        foreach (E820Entry ram in map.Where(e => e.Type == E820EntryType.Ram && e.Start.Value < limit).Reverse())
        {
            // Only extended memory: conventional memory is the kernel's (real-mode trampoline, BIOS areas).
            ulong entryStart = Math.Max(ram.Start.Value, E820Map.ExtendedMemoryStart);
            ulong end = Math.Min(ram.LastAddress.Value + 1, limit);
            topOfLowRam = Math.Max(topOfLowRam, end);
            if (end <= entryStart)
            {
                continue;
            }

            while (end > entryStart && end - entryStart >= size)
            {
                ulong start = (end - size) & ~(PageSize - 1);
                if (start < entryStart)
                {
                    break;
                }

                BootRegion? clash = taken.LastOrDefault(r => r.Range.Start.Value < start + size && r.Range.LastAddress.Value >= start);
                if (clash is null)
                {
                    return start;
                }

                end = clash.Range.Start.Value;
            }
        }

        throw new BootImageException(
            initrdName,
            "initrd size",
            $"{size} bytes (0x{size:X}) do not fit in RAM below 0x{Math.Min(limit, topOfLowRam):X8} (initrd_addr_max 0x{header.InitrdAddressMax:X8}, top of RAM below 4 GiB) clear of the kernel and its init_size area: the guest needs more memory");
    }

    private static byte[] BuildBootParams(byte[] image, LinuxSetupHeader header, E820Entry[] map, LinuxScreenInfoMode screen, ulong kernelAddress, AddressRange? initrd)
    {
        // boot.rst, "32-bit Boot Protocol": zero the whole boot_params, copy the setup header from
        // offset 1F1h of the image to the same offset, then fill in what the loader owns.
        byte[] zeroPage = new byte[BootParamsLayout.Size];
        Span<byte> p = zeroPage;
        image.AsSpan(BootParamsLayout.SetupHeader, header.HeaderEndOffset - BootParamsLayout.SetupHeader).CopyTo(p[BootParamsLayout.SetupHeader..]);

        p[BootParamsLayout.TypeOfLoader] = TypeOfLoader;
        p[BootParamsLayout.LoadFlags] |= BootParamsLayout.CanUseHeap;
        BinaryPrimitives.WriteUInt16LittleEndian(p[BootParamsLayout.HeapEndPtr..], HeapEndPointer);
        BinaryPrimitives.WriteUInt32LittleEndian(p[BootParamsLayout.Code32Start..], (uint)kernelAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(p[BootParamsLayout.CmdLinePtr..], BootMemoryLayout.LinuxCommandLineAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(p[BootParamsLayout.ExtCmdLinePtr..], 0);
        if (initrd is { } range)
        {
            ulong start = range.Start.Value;
            ulong size = range.SizeInBytesMinusOne + 1;
            BinaryPrimitives.WriteUInt32LittleEndian(p[BootParamsLayout.RamdiskImage..], (uint)start);
            BinaryPrimitives.WriteUInt32LittleEndian(p[BootParamsLayout.RamdiskSize..], (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(p[BootParamsLayout.ExtRamdiskImage..], (uint)(start >> 32));
            BinaryPrimitives.WriteUInt32LittleEndian(p[BootParamsLayout.ExtRamdiskSize..], (uint)(size >> 32));
        }

        // Memory sizes for kernels that fall back from e820: KiB of contiguous RAM above 1 MiB.
        E820Entry? extended = E820Map.FindRam(map, new PhysicalAddress(E820Map.ExtendedMemoryStart));
        ulong extendedKiB = extended is { } e ? (e.LastAddress.Value + 1 - E820Map.ExtendedMemoryStart) / 1024 : 0;
        BinaryPrimitives.WriteUInt32LittleEndian(p[BootParamsLayout.AltMemK..], (uint)Math.Min(extendedKiB, uint.MaxValue));
        BinaryPrimitives.WriteUInt16LittleEndian(p[(BootParamsLayout.ScreenInfo + BootParamsLayout.ExtMemK)..], (ushort)Math.Min(extendedKiB, 0xFFFF));

        if (screen == LinuxScreenInfoMode.VgaText80x25)
        {
            Span<byte> s = p.Slice(BootParamsLayout.ScreenInfo, BootParamsLayout.ScreenInfoSize);
            s[BootParamsLayout.OrigVideoMode] = 3;
            s[BootParamsLayout.OrigVideoCols] = 80;
            s[BootParamsLayout.OrigVideoLines] = 25;
            s[BootParamsLayout.OrigVideoIsVga] = 1;
            BinaryPrimitives.WriteUInt16LittleEndian(s[BootParamsLayout.OrigVideoEgaBx..], 0x0003); // colour, 256 KiB
            BinaryPrimitives.WriteUInt16LittleEndian(s[BootParamsLayout.OrigVideoPoints..], 16);
        }

        p[BootParamsLayout.E820Entries] = (byte)map.Length;
        for (int i = 0; i < map.Length; i++)
        {
            Span<byte> entry = p.Slice(BootParamsLayout.E820Table + (i * BootParamsLayout.E820EntrySize), BootParamsLayout.E820EntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(entry, map[i].Start.Value);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], map[i].SizeInBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], (uint)map[i].Type);
        }

        return zeroPage;
    }
}

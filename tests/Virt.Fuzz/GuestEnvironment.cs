using System.Buffers.Binary;
using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;
using static Virt.Fuzz.GuestLayout;

namespace Virt.Fuzz;

/// <summary>
/// Builds the world a fuzzed guest runs in: descriptor tables, a TSS, IDT/IVT handlers, page tables, random data and the
/// generated code in guest memory, and a CPU state (or a small ring-0 prologue) that enters <see cref="FuzzCase.Mode"/>.
/// Everything random comes from the case's seed, so a case always builds the same world.
/// </summary>
public static class GuestEnvironment
{
    private const ulong Cr0Pe = 1UL << 0;
    private const uint Cr0Wp = 1u << 16;
    private const uint Cr4Vme = 1u << 0;
    private const uint Cr4Pvi = 1u << 1;
    private const uint Cr4Tsd = 1u << 2;
    private const uint Cr4De = 1u << 3;
    private const uint Cr4Pse = 1u << 4;
    private const uint Cr4Pae = 1u << 5;
    private const uint Cr4Pge = 1u << 7;
    private const uint FlagReserved1 = 1u << 1;
    private const uint FlagTf = 1u << 8;
    private const uint FlagIf = 1u << 9;
    private const uint FlagIopl3 = 3u << 12;
    private const uint FlagVm = 1u << 17;
    private const uint FlagVif = 1u << 19;
    private const uint PagePresent = 1u << 0;
    private const uint PageWritable = 1u << 1;
    private const uint PageUser = 1u << 2;
    private const uint PageSize = 1u << 7;
    private const uint PageGlobal = 1u << 8;
    private const byte AccessPresent = 0x80;
    private const byte GateInterrupt32 = 0x8E;
    private const byte GateTrap32 = 0x8F;
    private const int PagesMapped = 1024; // 4 MiB of 4 KiB pages

    /// <summary>Exceptions that push an error code (Intel SDM Vol. 3A, 6.13 and Table 6-1): #DF, #TS, #NP, #SS, #GP, #PF, #AC.</summary>
    private static readonly int[] s_errorCodeVectors = [8, 10, 11, 12, 13, 14, 17];

    /// <summary>The handler policy the seed of <paramref name="seed"/> picks (mostly <see cref="HandlerPolicy.Skip"/>).</summary>
    /// <param name="seed">The case seed.</param>
    /// <returns>The policy.</returns>
    public static HandlerPolicy PolicyOf(ulong seed)
    {
        int roll = new FuzzRandom(seed, stream: 2).Next(100);
        return roll switch
        {
            < 75 => HandlerPolicy.Skip,
            < 85 => HandlerPolicy.Return,
            < 93 => HandlerPolicy.Halt,
            _ => HandlerPolicy.BrokenIdt,
        };
    }

    /// <summary>Writes the guest's tables, data and code to <paramref name="memory"/> and puts <paramref name="cpu"/> at its entry.</summary>
    /// <param name="memory">The guest memory (RAM at 0-9FFFFh at least).</param>
    /// <param name="cpu">The CPU (reset here).</param>
    /// <param name="guest">The case.</param>
    public static void Apply(PhysicalMemoryMap memory, X86Cpu cpu, FuzzCase guest)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(cpu);
        ArgumentNullException.ThrowIfNull(guest);
        if (guest.Code.Length > MaxCodeSizeInBytes)
        {
            throw new ArgumentException($"Guest code: {guest.Code.Length} bytes is more than {MaxCodeSizeInBytes}.", nameof(guest));
        }

        var rng = new FuzzRandom(guest.Seed, stream: 1);
        HandlerPolicy policy = PolicyOf(guest.Seed);
        byte[] image = new byte[LowRamSizeInBytes];
        Span<byte> ram = image;
        rng.Fill(ram.Slice((int)DataAddress, DataSizeInBytes));
        WriteRealModeHandlers(ram, policy, rng);
        WriteGdt(ram[(int)GdtAddress..]);
        WriteLdt(ram, rng);
        WriteTss(ram, guest.Mode, rng);
        WriteHandlers(ram, policy, rng);
        WriteIdt(ram[(int)IdtAddress..], policy, rng);
        WriteAlternateTables(ram, rng);
        bool paging = guest.Mode is FuzzMode.Protected16Paging or FuzzMode.Protected32Paging or FuzzMode.Pae or FuzzMode.Ring3 or FuzzMode.Virtual8086;
        WritePageTables(ram, guest.Mode, rng);
        guest.Code.CopyTo(ram[(int)CodeAddress..]);
        uint cr4 = ChooseCr4(guest.Mode, rng);
        uint eflags = ChooseEflags(guest.Mode, rng);
        uint[] registers = new uint[8];
        for (int i = 0; i < registers.Length; i++)
        {
            registers[i] = rng.Next(3) switch
            {
                0 => rng.NextUInt32(),
                1 => (uint)rng.Next(0x100),
                _ => (uint)rng.Next(0x10000),
            };
        }

        cpu.Reset();
        if (guest.Mode == FuzzMode.RealMode)
        {
            memory.Write(new PhysicalAddress(0), image);
            EnterRealMode(cpu, registers, eflags);
        }
        else
        {
            byte[] prologue = Prologue.Build(guest.Mode, paging, cr4, rng.Chance(50) ? Cr0Wp : 0, eflags, registers);
            prologue.CopyTo(ram[(int)PrologueAddress..]);
            memory.Write(new PhysicalAddress(0), image);
            EnterProtectedMode(cpu, policy);
        }

        cpu.FlushDecodeCache();
    }

    private static void EnterRealMode(X86Cpu cpu, uint[] registers, uint eflags)
    {
        cpu.SetSegment(Virt.Cpu.SegmentRegister.Cs, Virt.Cpu.SegmentState.RealMode((ushort)(CodeAddress >> 4)));
        cpu.SetSegment(Virt.Cpu.SegmentRegister.Ss, Virt.Cpu.SegmentState.RealMode((ushort)(Stack16Base >> 4)));
        foreach (Virt.Cpu.SegmentRegister s in new[] { Virt.Cpu.SegmentRegister.Ds, Virt.Cpu.SegmentRegister.Es, Virt.Cpu.SegmentRegister.Fs, Virt.Cpu.SegmentRegister.Gs })
        {
            cpu.SetSegment(s, Virt.Cpu.SegmentState.RealMode(0));
        }

        for (int i = 0; i < registers.Length; i++)
        {
            cpu.SetRegister((Virt.Cpu.GeneralRegister)i, registers[i]);
        }

        cpu.SetRegister(Virt.Cpu.GeneralRegister.Rsp, Stack16Pointer);
        cpu.Eip = 0;
        cpu.Flags = eflags;
    }

    private static void EnterProtectedMode(X86Cpu cpu, HandlerPolicy policy)
    {
        cpu.GdtBase = GdtAddress;
        cpu.GdtLimit = GdtLimit;
        cpu.IdtBase = IdtAddress;
        cpu.IdtLimit = policy == HandlerPolicy.BrokenIdt ? (ushort)0x3F : IdtLimit;
        cpu.Cr0 |= Cr0Pe;
        cpu.LoadSegmentFromDescriptor(Virt.Cpu.SegmentRegister.Cs, FlatCode, s_gdtEntries[FlatCode >> 3]);
        foreach (Virt.Cpu.SegmentRegister s in new[] { Virt.Cpu.SegmentRegister.Ds, Virt.Cpu.SegmentRegister.Es, Virt.Cpu.SegmentRegister.Ss, Virt.Cpu.SegmentRegister.Fs, Virt.Cpu.SegmentRegister.Gs })
        {
            cpu.LoadSegmentFromDescriptor(s, FlatData, s_gdtEntries[FlatData >> 3]);
        }

        cpu.SetRegister(Virt.Cpu.GeneralRegister.Rsp, Ring0StackTop);
        cpu.Eip = PrologueAddress;
        cpu.Flags = FlagReserved1;
    }

    /// <summary>The GDT, indexed by selector >> 3.</summary>
    private static readonly IReadOnlyList<ulong> s_gdtEntries =
    [
        0,
        Descriptor.Segment(0, 0xFFFFF, 0x9A, Descriptor.Granularity4K | Descriptor.Big), // 08 flat code
        Descriptor.Segment(0, 0xFFFFF, 0x92, Descriptor.Granularity4K | Descriptor.Big), // 10 flat data
        Descriptor.Segment(CodeAddress, 0xFFFF, 0x9A, 0), // 18 16-bit code
        Descriptor.Segment(0, 0xFFFF, 0x92, 0), // 20 16-bit data
        Descriptor.Segment(Stack16Base, 0xFFFF, 0x92, 0), // 28 16-bit stack
        Descriptor.Segment(TssAddress, TssLimit, 0x89, 0), // 30 32-bit available TSS
        Descriptor.Segment(0, 0xFFFFF, 0xFA, Descriptor.Granularity4K | Descriptor.Big), // 38 flat code, DPL 3
        Descriptor.Segment(0, 0xFFFFF, 0xF2, Descriptor.Granularity4K | Descriptor.Big), // 40 flat data, DPL 3
        Descriptor.Segment(LdtAddress, 0x1F, 0x82, 0), // 48 LDT
        Descriptor.Gate(FlatCode, CallGateTarget, 0xEC, parameterCount: 0), // 50 32-bit call gate, DPL 3
        Descriptor.Segment(0, 0xFFFFF, 0x12, Descriptor.Granularity4K | Descriptor.Big), // 58 not present
        Descriptor.Segment(DataAddress, 0x0FFF, 0x96, 0), // 60 expand-down data
        Descriptor.Segment(0, 0xFFFFF, 0x9E, Descriptor.Granularity4K | Descriptor.Big), // 68 conforming code
        Descriptor.Segment(DataAddress, 0xFFFF, 0x90, 0), // 70 read-only data
        Descriptor.Segment(CodeAddress, 0xFFFF, 0xFA, 0), // 78 16-bit code, DPL 3
    ];

    private static void WriteGdt(Span<byte> gdt)
    {
        for (int i = 0; i < s_gdtEntries.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(gdt[(i * 8)..], s_gdtEntries[i]);
        }
    }

    private static void WriteLdt(Span<byte> ram, FuzzRandom rng)
    {
        Span<byte> ldt = ram[(int)LdtAddress..];
        BinaryPrimitives.WriteUInt64LittleEndian(ldt, s_gdtEntries[FlatData3 >> 3]);
        BinaryPrimitives.WriteUInt64LittleEndian(ldt[8..], s_gdtEntries[Code16 >> 3]);
        BinaryPrimitives.WriteUInt64LittleEndian(ldt[16..], s_gdtEntries[FlatCode >> 3]);
        BinaryPrimitives.WriteUInt64LittleEndian(ldt[24..], Descriptor.Segment(rng.NextUInt32() & 0x3FFFFF, rng.NextUInt32() & 0xFFFFF, (byte)(0x90 | rng.Next(16) | (rng.Next(4) << 5)), (byte)(rng.Next(2) * Descriptor.Big)));
    }

    private static void WriteTss(Span<byte> ram, FuzzMode mode, FuzzRandom rng)
    {
        Span<byte> tss = ram[(int)TssAddress..];
        BinaryPrimitives.WriteUInt32LittleEndian(tss[4..], Ring0TssStackTop); // ESP0
        BinaryPrimitives.WriteUInt16LittleEndian(tss[8..], FlatData); // SS0
        bool pae = mode == FuzzMode.Pae;
        BinaryPrimitives.WriteUInt32LittleEndian(tss[0x1C..], pae ? PaePdptAddress : PageDirectoryAddress); // CR3 for task switches
        BinaryPrimitives.WriteUInt32LittleEndian(tss[0x20..], CodeAddress); // EIP
        BinaryPrimitives.WriteUInt32LittleEndian(tss[0x24..], FlagReserved1); // EFLAGS
        BinaryPrimitives.WriteUInt32LittleEndian(tss[0x38..], Ring0StackTop - 0x800); // ESP
        BinaryPrimitives.WriteUInt16LittleEndian(tss[0x48..], FlatData); // ES
        BinaryPrimitives.WriteUInt16LittleEndian(tss[0x4C..], FlatCode); // CS
        BinaryPrimitives.WriteUInt16LittleEndian(tss[0x50..], FlatData); // SS
        BinaryPrimitives.WriteUInt16LittleEndian(tss[0x54..], FlatData); // DS
        BinaryPrimitives.WriteUInt16LittleEndian(tss[0x60..], Ldt); // LDT selector
        BinaryPrimitives.WriteUInt16LittleEndian(tss[0x66..], (ushort)IoMapOffset);

        // Each redirection bit and I/O bit is random: about half the software interrupts go to the 8086 program's IVT
        // under VME, and about half the ports are allowed at CPL > IOPL and in virtual-8086 mode.
        rng.Fill(tss.Slice((int)RedirectionMapOffset, 32));
        rng.Fill(tss.Slice((int)IoMapOffset, 0x2000));
        tss[(int)TssLimit] = 0xFF;
    }

    private static void WriteRealModeHandlers(Span<byte> ram, HandlerPolicy policy, FuzzRandom rng)
    {
        // The handler returns one byte past where it was called from: push bp; mov bp,sp; inc word [bp+2]; pop bp; iret.
        byte[] handler = policy switch
        {
            HandlerPolicy.Skip => [0x55, 0x89, 0xE5, 0xFF, 0x46, 0x02, 0x5D, 0xCF],
            HandlerPolicy.Return => [0xCF],
            _ => [0xF4, 0xEB, 0xFD], // hlt; jmp back to the hlt
        };
        handler.CopyTo(ram[(int)RealModeHandlerAddress..]);
        for (int vector = 0; vector < 256; vector++)
        {
            // A broken policy sends some vectors into the random data area.
            uint target = policy == HandlerPolicy.BrokenIdt && rng.Chance(30) ? rng.NextUInt32() : RealModeHandlerAddress;
            BinaryPrimitives.WriteUInt32LittleEndian(ram[(vector * 4)..], target);
        }
    }

    private static void WriteHandlers(Span<byte> ram, HandlerPolicy policy, FuzzRandom rng)
    {
        for (int vector = 0; vector < 256; vector++)
        {
            Span<byte> h = ram.Slice((int)(HandlerBase + ((uint)vector * HandlerStride)), (int)HandlerStride);
            int n = 0;
            HandlerPolicy own = policy == HandlerPolicy.Skip && rng.Chance(3) ? HandlerPolicy.Halt : policy;
            if (own == HandlerPolicy.Halt)
            {
                h[n++] = 0xF4; // hlt
                h[n++] = 0xEB; // jmp back to the hlt
                h[n++] = 0xFD;
                continue;
            }

            if (Array.IndexOf(s_errorCodeVectors, vector) >= 0)
            {
                h[n++] = 0x83; // add esp, 4: drop the error code
                h[n++] = 0xC4;
                h[n++] = 0x04;
            }

            if (own is HandlerPolicy.Skip or HandlerPolicy.BrokenIdt)
            {
                h[n++] = 0xFF; // inc dword [esp]: return one byte further
                h[n++] = 0x04;
                h[n++] = 0x24;
            }

            h[n] = 0xCF; // iretd
        }

        ram[(int)CallGateTarget] = 0xCB; // retf
    }

    private static void WriteIdt(Span<byte> idt, HandlerPolicy policy, FuzzRandom rng)
    {
        for (int vector = 0; vector < 256; vector++)
        {
            byte access = rng.Chance(30) ? GateTrap32 : GateInterrupt32;
            if (rng.Chance(60))
            {
                access |= 3 << 5; // DPL 3: INT n allowed from ring 3 and virtual-8086 mode
            }

            if (policy == HandlerPolicy.BrokenIdt && rng.Chance(50))
            {
                access &= unchecked((byte)~AccessPresent);
            }

            ulong gate = Descriptor.Gate(FlatCode, HandlerBase + ((uint)vector * HandlerStride), access, 0);
            BinaryPrimitives.WriteUInt64LittleEndian(idt[(vector * 8)..], gate);
        }
    }

    private static void WriteAlternateTables(Span<byte> ram, FuzzRandom rng)
    {
        Span<byte> pointers = ram[(int)TablePointers..];
        WritePseudoDescriptor(pointers, GdtLimit, AlternateGdtAddress); // 6000: the altered GDT
        WritePseudoDescriptor(pointers[8..], IdtLimit, IdtAddress); // 6008: the real IDT
        WritePseudoDescriptor(pointers[16..], 0xFF, AlternateIdtAddress); // 6010: the random IDT
        WritePseudoDescriptor(pointers[24..], 7, IdtAddress); // 6018: one gate only: a fault cascade
        WritePseudoDescriptor(pointers[32..], GdtLimit, GdtAddress); // 6020: the real GDT
        WritePseudoDescriptor(pointers[40..], (ushort)rng.NextUInt32(), rng.NextUInt32() & 0x3FFFFF); // 6028: anything

        // 6040: far pointers m16:32 (offset, selector) for indirect far jumps and calls.
        ushort[] selectors = [FlatCode, Code16, Tss, FlatCode3, CallGate, NotPresentData, ConformingCode, Code16Ring3];
        for (int i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(pointers[(0x40 + (i * 8))..], rng.Chance(50) ? CodeAddress + (uint)rng.Next(MaxCodeSizeInBytes) : (uint)rng.Next(MaxCodeSizeInBytes));
            BinaryPrimitives.WriteUInt16LittleEndian(pointers[(0x44 + (i * 8))..], (ushort)(selectors[i] | rng.Next(4)));
        }

        Span<byte> gdt = ram[(int)AlternateGdtAddress..];
        for (int i = 0; i < s_gdtEntries.Count; i++)
        {
            ulong d = s_gdtEntries[i];
            if (i > 0 && rng.Chance(25))
            {
                d = rng.Next(4) switch
                {
                    0 => rng.NextUInt64(),
                    1 => d ^ (1UL << (40 + rng.Next(8))), // flip a bit of the access byte
                    2 => (d & ~0xFFFFUL) | (uint)rng.Next(0x10000), // another limit
                    _ => (d & ~(0xFFFFFFUL << 16)) | ((ulong)(rng.NextUInt32() & 0x3FFFFF) << 16), // another base
                };
            }

            BinaryPrimitives.WriteUInt64LittleEndian(gdt[(i * 8)..], d);
        }

        Span<byte> idt = ram[(int)AlternateIdtAddress..];
        byte[] types = [0x8E, 0x8F, 0x86, 0x87, 0x85, 0x0E, 0xEE, 0xEF];
        for (int vector = 0; vector < 32; vector++)
        {
            byte access = rng.Pick(types);
            ushort selector = access == 0x85 ? Tss : rng.Chance(80) ? FlatCode : rng.Pick(selectors);
            ulong gate = Descriptor.Gate(selector, HandlerBase + ((uint)vector * HandlerStride), access, 0);
            BinaryPrimitives.WriteUInt64LittleEndian(idt[(vector * 8)..], gate);
        }
    }

    private static void WritePseudoDescriptor(Span<byte> at, ushort limit, uint baseAddress)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(at, limit);
        BinaryPrimitives.WriteUInt32LittleEndian(at[2..], baseAddress);
    }

    private static void WritePageTables(Span<byte> ram, FuzzMode mode, FuzzRandom rng)
    {
        bool ring3 = mode == FuzzMode.Ring3;
        bool v86 = mode == FuzzMode.Virtual8086;
        uint[] pte = new uint[PagesMapped];
        for (uint page = 0; page < PagesMapped; page++)
        {
            uint linear = page << 12;
            bool system = (linear >= PageDirectoryAddress && linear < PageDirectoryAddress + 0x10000) // page tables
                || (linear >= 0x90000 && linear < LowRamSizeInBytes) // ring-0 stacks
                || (ring3 && linear < CodeAddress); // tables and handlers (virtual-8086 code may use the IVT page)
            uint flags = PagePresent | PageWritable | (system ? 0 : PageUser);
            if (!system && page is >= (DataAddress >> 12) and < 0x80 && rng.Chance(4))
            {
                // A few data pages are read-only or not present, for page faults the handlers skip.
                flags &= rng.Chance(50) ? ~PagePresent : ~PageWritable;
            }

            if ((ring3 || v86) && rng.Chance(1))
            {
                flags |= PageGlobal;
            }

            pte[page] = linear | flags;
        }

        const uint DirectoryFlags = PagePresent | PageWritable | PageUser;
        Span<byte> pd = ram[(int)PageDirectoryAddress..];
        BinaryPrimitives.WriteUInt32LittleEndian(pd, PageTableAddress | DirectoryFlags);

        // 4-8 MiB as one large page (used only when the prologue sets CR4.PSE; unmapped RAM above 4 MiB either way).
        BinaryPrimitives.WriteUInt32LittleEndian(pd[4..], 0x400000 | DirectoryFlags | PageSize);
        for (int i = 0; i < PagesMapped; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ram[(int)(PageTableAddress + (uint)(i * 4))..], pte[i]);
        }

        Span<byte> pdpt = ram[(int)PaePdptAddress..];
        BinaryPrimitives.WriteUInt64LittleEndian(pdpt, PaeDirectoryAddress | PagePresent);
        Span<byte> paeDirectory = ram[(int)PaeDirectoryAddress..];
        BinaryPrimitives.WriteUInt64LittleEndian(paeDirectory, PaeTableAddress | DirectoryFlags);
        BinaryPrimitives.WriteUInt64LittleEndian(paeDirectory[8..], (PaeTableAddress + 0x1000) | DirectoryFlags);
        for (int i = 0; i < PagesMapped; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(ram[(int)(PaeTableAddress + (uint)(i * 8))..], pte[i]);
        }
    }

    private static uint ChooseCr4(FuzzMode mode, FuzzRandom rng)
    {
        uint cr4 = 0;
        if (mode == FuzzMode.Pae)
        {
            cr4 |= Cr4Pae;
        }

        if (mode == FuzzMode.Virtual8086 && rng.Chance(50))
        {
            cr4 |= Cr4Vme;
        }

        if (mode == FuzzMode.Ring3 && rng.Chance(30))
        {
            cr4 |= Cr4Pvi;
        }

        cr4 |= rng.Chance(20) ? Cr4Tsd : 0;
        cr4 |= rng.Chance(20) ? Cr4De : 0;
        cr4 |= rng.Chance(30) ? Cr4Pse : 0;
        cr4 |= rng.Chance(30) ? Cr4Pge : 0;
        return cr4;
    }

    private static uint ChooseEflags(FuzzMode mode, FuzzRandom rng)
    {
        uint eflags = FlagReserved1 | (uint)(rng.NextUInt32() & 0x8D5); // random status flags
        eflags |= rng.Chance(50) ? FlagIf : 0;
        if (mode is FuzzMode.RealMode or FuzzMode.Ring3 or FuzzMode.Virtual8086)
        {
            // Only where the flags take effect at the first guest instruction (a trap inside the prologue would derail it).
            eflags |= rng.Chance(2) ? FlagTf : 0;
        }

        if (mode is FuzzMode.Ring3 or FuzzMode.Virtual8086)
        {
            eflags |= rng.Chance(50) ? FlagIopl3 : 0;
            eflags |= mode == FuzzMode.Virtual8086 ? FlagVm : 0;
            eflags |= rng.Chance(10) ? FlagVif : 0;
        }

        return eflags;
    }
}

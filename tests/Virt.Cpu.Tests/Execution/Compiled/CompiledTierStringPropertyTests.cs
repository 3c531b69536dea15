using FsCheck.Xunit;
using Iced.Intel;
using Virt.Cpu.Tests.LongMode;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using PagedMachine = Virt.Cpu.Tests.Execution.Compiled.CompiledTierMemoryPropertyTests.PagedMachine;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// The compiled tier's 16-bit addressing and 16-bit stack (BlockEmitter.Address16.cs) and its inline REP MOVS/STOS
/// (BlockEmitter.String.cs) against the interpreter: random real-mode blocks of [BX+SI+disp]-style operands (wrapping at
/// 64 KiB, BP-based ones on SS, offsets at the segment's end that fault), PUSH/POP/CALL/RET on a 16-bit stack that wraps,
/// and REP MOVS/STOS of bytes to quadwords with counts from 0 to beyond a page, overlapping ranges both ways, ranges that
/// cross pages or reach a not-present, read-only or MMIO page, DF set, and copies over the running code; in real mode,
/// 32-bit protected mode with paging and 64-bit mode. Budget slices end inside the strings. Both tiers must leave
/// byte-identical state, CR2, RAM and MMIO traffic.
/// </summary>
public sealed class CompiledTierStringPropertyTests
{
    private const int RealModeKinds = 30;
    private const ushort DataSegment = 0x2000;
    private const ushort ExtraSegment = 0x3000;
    private const ushort StackSegment = 0x4000;

    /// <summary>The address-size override (67h): Iced's assembler spells string instructions at the default address size only.</summary>
    private const byte AddressSizePrefix = 0x67;
    private const byte OperandSizePrefix = 0x66;
    private const byte RepPrefix = 0xF3;
    private const byte MovsByte = 0xA4;
    private const byte MovsWide = 0xA5;

    /// <summary>How often the 32- and 64-bit string programs run their instructions.</summary>
    private const int Rounds = 3;

    private static readonly AssemblerRegister16[] s_words = [ax, cx, dx, bx, si, di, bp];
    private static readonly AssemblerRegister8[] s_bytes = [al, cl, dl, bl, ah, ch, dh, bh];
    private static readonly AssemblerRegister32[] s_dwords = [eax, ecx, edx, ebx, esi, edi];

    /// <summary>String counts: none, a few, a page's worth of bytes/words/dwords and beyond, past any budget slice.</summary>
    private static readonly uint[] s_counts = [0, 1, 2, 3, 5, 16, 17, 255, 256, 0x3FF, 0x400, 0x401, 0x800, 0x1000, 0x1001, 3000];

    /// <summary>String offsets: page starts and ends, the segment's end (16-bit offsets wrap or fault there), the middle.</summary>
    private static readonly ushort[] s_offsets = [0, 2, 0x7FC, 0xFF0, 0xFFE, 0xFFF, 0x1000, 0x1FFC, 0x400, 0x8000, 0xFFF0, 0xFFFE, 0xFFFF, 0x4001, 0x2FF8, 0x100];

    /// <summary>Where the destination lies against the source: apart, just after it (a pattern fill), just before it, the same.</summary>
    private static readonly int[] s_overlaps = [0x2000, 1, 2, 4, 8, -1, -2, -4, 0, 0x800, -0x800, 0x3000, 3, 0x1001, -0x1001, 0x41];

    [Property(MaxTest = 150)]
    public void Random_real_mode_blocks_with_16_bit_addressing_and_strings_leave_the_same_state(uint seed, uint[] program, ushort[] registers, byte[] slices, byte mode)
    {
        uint[] words = CompiledTierMemoryPropertyTests.Extend(program ?? [], seed);
        int threshold = mode % 3;
        ushort sp = ((mode >> 2) & 3) switch
        {
            0 => 0x0002, // pushes wrap SP to FFFEh
            1 => 0xFFFF, // word pushes and pops at the segment's end
            2 => 0x1001, // at a page boundary
            _ => 0x8000,
        };
        CpuHarness interpreter = PrepareReal(TierComparison.Interpreter, words, registers ?? [], sp);
        CpuHarness compiled = PrepareReal(TierComparison.Compiled(threshold), words, registers ?? [], sp);
        CompiledTierMemoryPropertyTests.RunAndCompare(interpreter.Cpu, interpreter.Memory, null, compiled.Cpu, compiled.Memory, null,
            (mode & 0x20) != 0 ? slices ?? [] : [], CpuHarness.DefaultRamBytes);
        if (threshold == 0)
        {
            Assert.True(compiled.Cpu.CompiledTierStatistics.BlocksCompiled > 0, "nothing was compiled");
        }
    }

    [Property(MaxTest = 100)]
    public void Random_string_blocks_in_32_bit_paged_code_leave_the_same_state(uint seed, uint[] program, uint[] registers, byte[] slices, byte mode)
    {
        uint[] words = CompiledTierMemoryPropertyTests.Extend(program ?? [], seed);
        byte[] code = Build32(words);
        int threshold = mode % 3;
        var interpreter = new PagedMachine(TierComparison.Interpreter, code, registers ?? [], PagedMachine.StackTop);
        var compiled = new PagedMachine(TierComparison.Compiled(threshold), code, registers ?? [], PagedMachine.StackTop);
        FillData(interpreter.Memory, PagedMachine.DataBase, PagedMachine.DataPages * 0x1000, seed);
        FillData(compiled.Memory, PagedMachine.DataBase, PagedMachine.DataPages * 0x1000, seed);
        CompiledTierMemoryPropertyTests.RunAndCompare(interpreter.Cpu, interpreter.Memory, interpreter.Device, compiled.Cpu, compiled.Memory, compiled.Device,
            (mode & 0x20) != 0 ? slices ?? [] : [], PagedMachine.RamBytes);
    }

    [Property(MaxTest = 60)]
    public void Random_string_blocks_in_64_bit_code_leave_the_same_state(uint seed, uint[] program, ulong[] registers, byte[] slices, byte mode)
    {
        uint[] words = CompiledTierMemoryPropertyTests.Extend(program ?? [], seed);
        int threshold = mode % 3;
        LongModeHarness interpreter = CompiledTierMemoryPropertyTests.PrepareLong(TierComparison.Interpreter, words, registers ?? [], LongModeHarness.StackTop, Build64);
        LongModeHarness compiled = CompiledTierMemoryPropertyTests.PrepareLong(TierComparison.Compiled(threshold), words, registers ?? [], LongModeHarness.StackTop, Build64);
        FillData(interpreter.Memory, CompiledTierMemoryPropertyTests.LongData, 0x4000, seed);
        FillData(compiled.Memory, CompiledTierMemoryPropertyTests.LongData, 0x4000, seed);
        CompiledTierMemoryPropertyTests.RunAndCompare(interpreter.Cpu, interpreter.Memory, null, compiled.Cpu, compiled.Memory, null,
            (mode & 0x20) != 0 ? slices ?? [] : [], 2 * 1024 * 1024);
    }

    [Fact]
    public void A_16_bit_address_wraps_at_64_KiB_under_a_flat_segment()
    {
        // BX + SI + 1000h = 20000h unwrapped; wrapped, 0 (below the GDT, zeros). The first load puts 20000h in the TLB,
        // so an address left unwrapped would hit it and read 5678h instead of 0.
        var a = new Assembler(32);
        a.mov(ecx, 3);
        Label top = a.CreateLabel();
        a.Label(ref top);
        a.mov(eax, __dword_ptr[PagedMachine.DataBase]);
        a.mov(ebx, 0xF800);
        a.mov(esi, 0xF800);
        a.mov(ax, __word_ptr[bx + si + 0x1000]);
        a.add(dx, __word_ptr[bx + si + 0x1000]);
        a.dec(ecx);
        a.jnz(top);
        a.hlt();
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), PagedMachine.CodeAddress);
        byte[] code = stream.ToArray();
        var interpreter = new PagedMachine(TierComparison.Interpreter, code, [], PagedMachine.StackTop);
        var compiled = new PagedMachine(TierComparison.Compiled(), code, [], PagedMachine.StackTop);
        foreach (PagedMachine machine in new[] { interpreter, compiled })
        {
            machine.Memory.WriteDoubleWord(new Virt.Memory.PhysicalAddress(PagedMachine.DataBase), 0x1234_5678);
        }

        CompiledTierMemoryPropertyTests.RunAndCompare(interpreter.Cpu, interpreter.Memory, interpreter.Device, compiled.Cpu, compiled.Memory, compiled.Device, [], PagedMachine.RamBytes);
        Assert.Equal(0x1234_0000UL, compiled.Cpu.GetRegister(GeneralRegister.Rax));
    }

    /// <summary>
    /// A real-mode machine: the code at 0000:1000, DS = 2000h, ES = 3000h, SS = 4000h with SP as given (so that data, the
    /// stack and the code lie apart), HLT handlers for the exceptions, the general registers from the test's values.
    /// </summary>
    private static CpuHarness PrepareReal(CpuOptions options, uint[] program, ushort[] registers, ushort sp)
    {
        var machine = new CpuHarness(options);
        machine.Load(a => BuildReal(a, program));
        for (int vector = 0; vector < 32; vector++)
        {
            machine.InstallHaltHandler(vector);
        }

        machine.Cpu.SetSegment(SegmentRegister.Ds, SegmentState.RealMode(DataSegment));
        machine.Cpu.SetSegment(SegmentRegister.Es, SegmentState.RealMode(ExtraSegment));
        machine.Cpu.SetSegment(SegmentRegister.Ss, SegmentState.RealMode(StackSegment));
        for (int i = 0; i < s_words.Length; i++)
        {
            GeneralRegister r = (GeneralRegister)(s_words[i].Value - Register.AX);

            // Upper halves a 16-bit write must keep.
            ulong upper = 0xA5A5_0000UL * (ulong)(i + 1) & 0xFFFF_0000;
            machine.Cpu.SetRegister(r, upper | (i < registers.Length ? registers[i] : (ushort)(0x1111 * (i + 1))));
        }

        machine.Cpu.SetRegister(GeneralRegister.Rsp, 0x7777_0000UL | sp);
        FillData(machine.Memory, (ulong)DataSegment << 4, 0x30000, program.Length == 0 ? 0 : program[0]);
        return machine;
    }

    /// <summary>
    /// Fills the data with bytes that differ from their neighbours (a fixed function of the seed), so that a copy in the
    /// wrong order or from the wrong place leaves different RAM (zeros copied over zeros would hide it).
    /// </summary>
    private static void FillData(Virt.Memory.PhysicalMemoryMap memory, ulong start, int length, uint seed)
    {
        byte[] bytes = new byte[length];
        uint x = seed | 1;
        for (int i = 0; i < length; i++)
        {
            x = (x * 1_103_515_245) + 12_345;
            bytes[i] = (byte)(x >> 16);
        }

        memory.Write(new Virt.Memory.PhysicalAddress(start), bytes);
    }

    private static void BuildReal(Assembler a, uint[] program)
    {
        int count = Math.Min(program.Length, 48);
        Label[] labels = new Label[count + 1];
        for (int i = 0; i <= count; i++)
        {
            labels[i] = a.CreateLabel();
        }

        for (int i = 0; i < count; i++)
        {
            a.Label(ref labels[i]);
            EmitReal(a, program[i], labels[Math.Min(i + 1 + (int)((program[i] >> 28) & 3), count)], labels[Math.Max(0, i - 1 - (int)((program[i] >> 28) & 3))]);
        }

        a.Label(ref labels[count]);
        a.hlt();
    }

    /// <summary>One of the eight 16-bit addressing forms with a displacement that is small, near the segment's end, or negative.</summary>
    private static AssemblerMemoryOperand Memory16(uint w)
    {
        int disp = ((w >> 24) & 3) switch
        {
            0 => (int)((w >> 16) & 0xFF),
            1 => 0xFFFE - (int)((w >> 16) & 3),
            2 => -(int)((w >> 16) & 0x7F),
            _ => (int)((w >> 16) & 0x7FFF),
        };
        return ((w >> 20) & 7) switch
        {
            0 => __[bx + si + disp],
            1 => __[bx + di + disp],
            2 => __[bp + si + disp],
            3 => __[bp + di + disp],
            4 => __[si + disp],
            5 => __[di + disp],
            6 => __[bp + disp],
            _ => __[bx + disp],
        };
    }

    private static void EmitReal(Assembler a, uint w, Label forward, Label earlier)
    {
        AssemblerRegister16 d = s_words[(w >> 8) % 4];
        AssemblerRegister16 s = s_words[(w >> 12) % s_words.Length];
        AssemblerRegister8 b = s_bytes[(w >> 12) % s_bytes.Length];
        AssemblerRegister32 d32 = s_dwords[(w >> 8) % 4];
        short imm = (short)((w >> 14) & 0xFFFF);
        AssemblerMemoryOperand m = Memory16(w);
        switch (w % RealModeKinds)
        {
            case 0: a.mov(d, __word_ptr[m]); break;
            case 1: a.mov(__word_ptr[m], s); break;
            case 2: a.mov(__word_ptr[m], imm); break;
            case 3: a.mov(b, __byte_ptr[m]); break;
            case 4: a.mov(__byte_ptr[m], b); break;
            case 5: a.movzx(d, __byte_ptr[m]); break;
            case 6: a.movsx(d32, __word_ptr[m]); break;
            case 7: a.add(d, __word_ptr[m]); break;
            case 8:
                a.cmp(d, __word_ptr[m]);
                a.jl(forward);
                break;
            case 9: a.xor(d, __word_ptr[m]); break;
            case 10: a.sub(__word_ptr[m], s); break;
            case 11: a.or(__word_ptr[m], imm); break;
            case 12: a.test(__word_ptr[m], s); break;
            case 13:
                a.inc(__word_ptr[m]);
                a.jne(forward);
                break;
            case 14: a.dec(__word_ptr[m]); break;
            case 15: a.add(d32, __dword_ptr[m]); break;
            case 16: a.mov(__dword_ptr[m], d32); break;
            case 17: a.push(s); break;
            case 18: a.pop(d); break;
            case 19: a.push((ushort)imm); break;
            case 20:
                {
                    Label sub = a.CreateLabel();
                    Label after = a.CreateLabel();
                    a.call(sub);
                    a.jmp(after);
                    a.Label(ref sub);
                    a.add(d, __word_ptr[m]);
                    if ((w & 0x80) != 0)
                    {
                        a.ret((short)2);
                    }
                    else
                    {
                        a.ret();
                    }

                    a.Label(ref after);
                    a.nop();
                    break;
                }

            case 21:
            case 22:
            case 23:
                EmitRealString(a, w);
                break;
            case 24:
                // DF set for a while: the strings run backwards (the slow path), until a CLD.
                if ((w & 0x100) != 0)
                {
                    a.std();
                }
                else
                {
                    a.cld();
                }

                break;
            case 25:
                {
                    // REP MOVSB of the code over itself (CS = DS = ES): a store into the running code, same bytes.
                    a.push(ds);
                    a.push(es);
                    a.push(cs);
                    a.pop(ds);
                    a.push(cs);
                    a.pop(es);
                    a.mov(si, (ushort)(CpuHarness.CodeOffset + ((w >> 16) & 0x3F)));
                    a.mov(di, si);
                    a.mov(cx, (ushort)((w >> 22) & 0x1F));
                    a.rep.movsb();
                    a.pop(es);
                    a.pop(ds);
                    break;
                }

            case 26:
                a.sub(__word_ptr[m], 1);
                a.jne(earlier);
                break;
            case 27: a.and(d, __word_ptr[bp + di]); break;
            case 28: a.mov(__word_ptr[(ushort)(w >> 16)], s); break;
            default:
                a.dec(d);
                a.jg(forward);
                break;
        }
    }

    /// <summary>REP MOVS/STOS in real mode: SI, DI and CX from the tables (DS:SI source, ES:DI destination), then the string.</summary>
    private static void EmitRealString(Assembler a, uint w)
    {
        ushort source = s_offsets[(w >> 8) & 15];
        ushort destination = (w & 0x1000) != 0 ? (ushort)(source + s_overlaps[(w >> 16) & 15]) : s_offsets[(w >> 16) & 15];
        if ((w & 0x2000) != 0)
        {
            // The destination in the source's segment, so that the two ranges can overlap.
            a.push(ds);
            a.pop(es);
        }

        a.mov(si, source);
        a.mov(di, destination);
        a.mov(cx, (ushort)s_counts[(w >> 20) & 15]);
        switch ((w >> 24) & 7)
        {
            case 0: a.rep.movsb(); break;
            case 1: a.rep.movsw(); break;
            case 2: a.rep.movsd(); break;
            case 3: a.rep.stosb(); break;
            case 4: a.rep.stosw(); break;
            case 5: a.rep.stosd(); break;
            case 6:
                // 32-bit addressing in real mode: ECX, ESI, EDI (offsets beyond FFFFh fault).
                a.mov(ecx, s_counts[(w >> 20) & 15]);
                a.db(AddressSizePrefix, RepPrefix, OperandSizePrefix, MovsWide);
                break;
            default: a.rep.movsb(); break;
        }
    }

    private static byte[] Build32(uint[] program)
    {
        // Three rounds: the later ones find the TLB warm and the blocks compiled at any threshold.
        var a = new Assembler(32);
        Label top = a.CreateLabel();
        int count = Math.Min(program.Length, 48);
        a.mov(edx, Rounds);
        a.Label(ref top);
        for (int i = 0; i < count; i++)
        {
            EmitString32(a, program[i]);
        }

        a.dec(edx);
        a.jnz(top);
        a.hlt();
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), PagedMachine.CodeAddress);
        return stream.ToArray();
    }

    /// <summary>
    /// REP MOVS/STOS in 32-bit paged code: ESI and EDI on the six data pages (present, present, not present, read-only,
    /// present, MMIO) at offsets near page boundaries, or EDI next to ESI, or both on the code (a copy over itself), a
    /// count from the table, DF sometimes set; between strings, word moves and ALU forms with 32- and 16-bit addressing.
    /// </summary>
    private static void EmitString32(Assembler a, uint w)
    {
        uint source = PagedMachine.DataBase + (uint)CompiledTierMemoryPropertyTests.Displacement(w);
        uint destination = (w & 0x1000) != 0
            ? (uint)(source + s_overlaps[(w >> 8) & 15])
            : PagedMachine.DataBase + (uint)CompiledTierMemoryPropertyTests.Displacement(w * 0x9E37_79B9);
        switch ((w >> 13) & 7)
        {
            case 0:
                // A copy of the code over itself: stores into the running code.
                source = PagedMachine.CodeAddress + ((w >> 16) & 0x7F);
                destination = source;
                break;
            case 1:
                a.std();
                break;
            case 2:
                a.mov(ax, __word_ptr[ebx + CompiledTierMemoryPropertyTests.Displacement(w) + (int)PagedMachine.DataBase]);
                a.add(__word_ptr[ebp + 0x104], ax);

                // 16-bit addressing under a 4 GiB limit: only the 64 KiB wrap keeps BX+SI+disp below 10000h (unwrapped,
                // this sum would land on the first data page, whose TLB entry the strings keep warm).
                a.mov(ebx, 0xF000 + ((w >> 4) & 0x7FF));
                a.mov(esi, 0xF000);
                a.add(ax, __word_ptr[bx + si + (int)(0x1000 + ((w >> 16) & 0x1FF))]);
                a.mov(cx, __word_ptr[bp + di + (int)((w >> 16) & 0xFFFF)]);
                break;
            default:
                a.cld();
                break;
        }

        a.mov(esi, source);
        a.mov(edi, destination);
        a.mov(ecx, s_counts[(w >> 4) & 15]);
        switch (w & 7)
        {
            case 0: a.rep.movsb(); break;
            case 1: a.rep.movsw(); break;
            case 2: a.rep.movsd(); break;
            case 3: a.rep.stosb(); break;
            case 4: a.rep.stosw(); break;
            case 5: a.rep.stosd(); break;
            case 6:
                // 16-bit addressing in 32-bit code: CX, SI, DI.
                a.db(AddressSizePrefix, RepPrefix, OperandSizePrefix, MovsWide);
                break;
            default: a.rep.movsd(); break;
        }
    }

    private static void Build64(Assembler a, uint[] program)
    {
        Label top = a.CreateLabel();
        int count = Math.Min(program.Length, 48);
        a.mov(r8d, Rounds);
        a.Label(ref top);
        for (int i = 0; i < count; i++)
        {
            EmitString64(a, program[i]);
        }

        a.dec(r8d);
        a.jnz(top);
        a.hlt();
    }

    /// <summary>REP MOVS/STOS in 64-bit code on the four pages below the not-present 2 MiB page, or over the code.</summary>
    private static void EmitString64(Assembler a, uint w)
    {
        ulong source = CompiledTierMemoryPropertyTests.LongData + ((w >> 20) & 3) * 0x1000 + (ulong)s_offsets[(w >> 24) & 15] % 0x1000;
        ulong destination = (w & 0x1000) != 0
            ? (ulong)((long)source + s_overlaps[(w >> 8) & 15])
            : CompiledTierMemoryPropertyTests.LongData + ((w >> 18) & 3) * 0x1000 + (ulong)s_offsets[(w >> 14) & 15] % 0x1000;
        switch ((w >> 13) & 3)
        {
            case 0:
                source = LongModeHarness.CodeAddress + ((w >> 16) & 0x7F);
                destination = source;
                break;
            case 1:
                a.std();
                break;
            default:
                a.cld();
                break;
        }

        a.mov(rsi, source);
        a.mov(rdi, destination);
        a.mov(rcx, s_counts[(w >> 4) & 15]);
        switch (w & 7)
        {
            case 0: a.rep.movsb(); break;
            case 1: a.rep.movsw(); break;
            case 2: a.rep.movsd(); break;
            case 3: a.rep.movsq(); break;
            case 4: a.rep.stosb(); break;
            case 5: a.rep.stosd(); break;
            case 6: a.rep.stosq(); break;
            default:
                // 32-bit addressing in 64-bit mode: ECX, ESI, EDI.
                a.db(AddressSizePrefix, RepPrefix, MovsByte);
                break;
        }
    }
}

using Iced.Intel;
using static Virt.Fuzz.GuestLayout;

namespace Virt.Fuzz;

/// <summary>
/// Makes the code of a fuzzed guest: random bytes, or a stream of instructions that Iced decodes at the mode's bitness
/// mixed with templates of the system instructions random bytes rarely get right (see <see cref="FuzzGenerator"/>).
/// </summary>
public static class CodeGenerator
{
    private const int TemplatePercent = 35;
    private static readonly byte[] s_prefixes = [0x66, 0x67, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0xF0];
    private static readonly ushort[] s_ports =
    [
        0x20, 0x21, 0xA0, 0xA1, // PIC
        0x40, 0x41, 0x42, 0x43, 0x61, // PIT, port B
        0x60, 0x64, // 8042
        0x70, 0x71, // RTC
        0x80, 0x92, 0xE9, 0xF0, // POST, port A, debug console, x87 error latch
        0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF, // COM1
        0x3C0, 0x3C1, 0x3C4, 0x3C5, 0x3C7, 0x3C8, 0x3C9, 0x3CC, 0x3CE, 0x3CF, 0x3D4, 0x3D5, 0x3DA, // VGA
        0x501, 0x502, 0xCF9, // debug exit, reset control
    ];

    private static readonly uint[] s_msrs = [0x10, 0x1B, 0x174, 0x175, 0x176, 0x277, 0x2FF, 0xC000_0080, 0xC000_0081, 0x8B, 0xFE];

    /// <summary>The code size in bits of the generated code of <paramref name="mode"/>.</summary>
    /// <param name="mode">The mode.</param>
    /// <returns>16 or 32.</returns>
    public static int BitnessOf(FuzzMode mode) =>
        mode is FuzzMode.RealMode or FuzzMode.Protected16 or FuzzMode.Protected16Paging or FuzzMode.Virtual8086 ? 16 : 32;

    /// <summary>The code of the case of <paramref name="seed"/>, at most <see cref="GuestLayout.MaxCodeSizeInBytes"/> bytes.</summary>
    /// <param name="seed">The seed.</param>
    /// <param name="mode">The mode (for the bitness and the selectors).</param>
    /// <param name="generator">The generator.</param>
    /// <returns>The code.</returns>
    public static byte[] Generate(ulong seed, FuzzMode mode, FuzzGenerator generator)
    {
        var rng = new FuzzRandom(seed, stream: 0);
        if (generator == FuzzGenerator.RandomBytes)
        {
            byte[] bytes = new byte[MaxCodeSizeInBytes];
            rng.Fill(bytes);
            return bytes;
        }

        var emitter = new Emitter(BitnessOf(mode), mode, rng);
        var code = new List<byte>(MaxCodeSizeInBytes + 32);
        byte[] candidate = new byte[16];
        var reader = new ByteArrayCodeReader(candidate);
        Decoder decoder = Decoder.Create(emitter.Bitness, reader);
        while (true)
        {
            List<byte> next = rng.Chance(TemplatePercent) ? emitter.Template() : RandomInstruction(rng, candidate, reader, decoder);
            if (FirstUndecodableOffset([.. next], emitter.Bitness) >= 0)
            {
                continue; // a template with an operand the CPU has no encoding for (an x87 register form such as D9 D1, say)
            }

            if (code.Count + next.Count > MaxCodeSizeInBytes)
            {
                break;
            }

            code.AddRange(next);
        }

        return [.. code];
    }

    /// <summary>Whether every instruction of <paramref name="code"/> decodes at <paramref name="bitness"/> (a property the tests check).</summary>
    /// <param name="code">The code.</param>
    /// <param name="bitness">16 or 32.</param>
    /// <returns>The first offset that does not decode, or -1.</returns>
    public static int FirstUndecodableOffset(byte[] code, int bitness)
    {
        ArgumentNullException.ThrowIfNull(code);
        var reader = new ByteArrayCodeReader(code);
        Decoder decoder = Decoder.Create(bitness, reader);
        while (reader.CanReadByte)
        {
            ulong offset = decoder.IP;
            decoder.Decode(out Instruction instruction);
            if (instruction.IsInvalid)
            {
                return (int)offset;
            }
        }

        return -1;
    }

    private static List<byte> RandomInstruction(FuzzRandom rng, byte[] candidate, ByteArrayCodeReader reader, Decoder decoder)
    {
        while (true)
        {
            rng.Fill(candidate);
            int at = 0;
            if (rng.Chance(20))
            {
                candidate[at++] = rng.Pick(s_prefixes);
            }

            int roll = rng.Next(100);
            if (roll < 30)
            {
                candidate[at] = 0x0F; // two- and three-byte opcodes
            }
            else if (roll < 40)
            {
                candidate[at] = (byte)(0xD8 + rng.Next(8)); // x87
            }

            reader.Position = 0;
            decoder.IP = 0;
            decoder.Decode(out Instruction instruction);
            if (!instruction.IsInvalid)
            {
                return [.. candidate.AsSpan(0, instruction.Length)];
            }
        }
    }

    /// <summary>Emits one template instruction (or a short sequence that sets up its operands).</summary>
    private sealed class Emitter(int bitness, FuzzMode mode, FuzzRandom rng)
    {
        private readonly List<byte> _out = [];

        public int Bitness { get; } = bitness;

        private bool Is16 => Bitness == 16;

        private bool RealAddressing => mode is FuzzMode.RealMode or FuzzMode.Virtual8086;

        public List<byte> Template()
        {
            _out.Clear();
            switch (rng.Next(16))
            {
                case 0: FarDirect(); break;
                case 1: FarIndirect(); break;
                case 2: Interrupt(); break;
                case 3: Iret(); break;
                case 4: SegmentLoad(); break;
                case 5: ControlRegister(); break;
                case 6: DescriptorTable(); break;
                case 7: SystemInstruction(); break;
                case 8:
                case 9: StringOperation(); break;
                case 10:
                case 11: PortIo(); break;
                case 12: X87(); break;
                case 13: Flags(); break;
                case 14: Branch(); break;
                default: StackOperation(); break;
            }

            return [.. _out];
        }

        private void B(params byte[] bytes) => _out.AddRange(bytes);

        private void W(ushort value) => B((byte)value, (byte)(value >> 8));

        private void D(uint value) => B((byte)value, (byte)(value >> 8), (byte)(value >> 16), (byte)(value >> 24));

        /// <summary>An immediate of the current operand size.</summary>
        private void Imm(uint value)
        {
            if (Is16)
            {
                W((ushort)value);
            }
            else
            {
                D(value);
            }
        }

        /// <summary>mov r32, imm32 (with an operand-size prefix in 16-bit code).</summary>
        private void MovImm32(int register, uint value)
        {
            if (Is16)
            {
                B(0x66);
            }

            B((byte)(0xB8 + register));
            D(value);
        }

        /// <summary>mov r16, imm16 (with an operand-size prefix in 32-bit code).</summary>
        private void MovImm16(int register, ushort value)
        {
            if (!Is16)
            {
                B(0x66);
            }

            B((byte)(0xB8 + register));
            W(value);
        }

        /// <summary>A ModRM with a bare displacement and <paramref name="reg"/> in the reg field, then the displacement.</summary>
        private void MemoryOperand(int reg, uint address)
        {
            if (Is16)
            {
                B((byte)((reg << 3) | 0x06));
                W((ushort)address);
            }
            else
            {
                B((byte)((reg << 3) | 0x05));
                D(address);
            }
        }

        /// <summary>An address of the data area as the code's data segment sees it (DS base 0 in every mode).</summary>
        private uint DataOperandAddress() =>
            Is16 ? 0x8000u + (uint)rng.Next(0x7FF0) : DataAddress + (uint)rng.Next(DataSizeInBytes - 16);

        private ushort Selector()
        {
            if (RealAddressing && rng.Chance(60))
            {
                return (ushort)(CodeAddress >> 4);
            }

            ushort[] selectors =
            [
                0, FlatCode, FlatData, Code16, Data16, Stack16, Tss, FlatCode3, FlatData3, Ldt, CallGate, NotPresentData,
                ExpandDownData, ConformingCode, ReadOnlyData, Code16Ring3, 0x04 | 3, 0x0C, 0x14, (ushort)rng.NextUInt32(),
            ];
            return (ushort)(rng.Pick(selectors) | (rng.Chance(30) ? rng.Next(4) : 0));
        }

        private uint CodeOffset(ushort selector) =>
            selector is Code16 or Code16Ring3 or (ushort)(Code16Ring3 & ~3) || RealAddressing || rng.Chance(20)
                ? (uint)rng.Next(MaxCodeSizeInBytes)
                : CodeAddress + (uint)rng.Next(MaxCodeSizeInBytes);

        private void FarDirect()
        {
            ushort selector = Selector();
            B(rng.Chance(50) ? (byte)0xEA : (byte)0x9A); // jmp far / call far ptr16:16/32
            Imm(CodeOffset(selector));
            W(selector);
        }

        private void FarIndirect()
        {
            // jmp/call far m16:32 through the pointer table at 6040h (the 16-bit forms need an operand-size prefix).
            if (Is16)
            {
                B(0x66);
            }

            B(0xFF);
            MemoryOperand(rng.Chance(50) ? 5 : 3, TablePointers + 0x40 + ((uint)rng.Next(8) * 8));
        }

        private void Interrupt()
        {
            switch (rng.Next(5))
            {
                case 0: B(0xCC); break; // int3
                case 1: B(0xCE); break; // into
                case 2: B(0xF1); break; // int1
                default:
                    int vector = rng.Chance(60) ? rng.Next(0x30) : rng.Next(256);
                    B(0xCD, (byte)vector);
                    break;
            }
        }

        private void Iret()
        {
            if (rng.Chance(30))
            {
                B(0x66);
            }

            B(0xCF);
        }

        private void SegmentLoad()
        {
            ushort selector = Selector();
            int sreg = rng.Pick([0, 2, 3, 4, 5]); // es, ss, ds, fs, gs
            switch (rng.Next(3))
            {
                case 0:
                    MovImm16(0, selector);
                    B(0x8E, (byte)(0xC0 | (sreg << 3))); // mov sreg, ax
                    break;
                case 1:
                    B(0x68);
                    Imm(selector); // push imm
                    B(sreg switch { 0 => new byte[] { 0x07 }, 2 => [0x17], 3 => [0x1F], 4 => [0x0F, 0xA1], _ => [0x0F, 0xA9] }); // pop sreg
                    break;
                default:
                    // lds/les/lss/lfs/lgs from the far-pointer table
                    if (Is16)
                    {
                        B(0x66);
                    }

                    B(rng.Pick(new byte[][] { [0xC5], [0xC4], [0x0F, 0xB2], [0x0F, 0xB4], [0x0F, 0xB5] }));
                    MemoryOperand(rng.Next(8), TablePointers + 0x40 + ((uint)rng.Next(8) * 8));
                    break;
            }
        }

        private void ControlRegister()
        {
            int cr = rng.Pick([0, 0, 2, 3, 4, 4]);
            uint value = cr switch
            {
                0 => 0x0000_0011u | (rng.NextUInt32() & 0xE005_002F), // PE/ET plus a random mix of PG CD NW AM WP NE TS EM MP
                3 => rng.Chance(70) ? rng.Pick([PageDirectoryAddress, PaePdptAddress]) : rng.NextUInt32() & 0x3FFFE0,
                4 => rng.NextUInt32() & 0x2BF,
                _ => rng.NextUInt32(),
            };
            if (rng.Chance(25))
            {
                B(0x0F, 0x20, (byte)(0xC0 | (cr << 3))); // mov eax, crN
                return;
            }

            if (rng.Chance(15))
            {
                int dr = rng.Next(8);
                MovImm32(0, rng.Chance(50) ? CodeAddress + (uint)rng.Next(MaxCodeSizeInBytes) : rng.NextUInt32());
                B(0x0F, rng.Chance(70) ? (byte)0x23 : (byte)0x21, (byte)(0xC0 | (dr << 3))); // mov drN, eax / mov eax, drN
                return;
            }

            MovImm32(0, value);
            B(0x0F, 0x22, (byte)(0xC0 | (cr << 3))); // mov crN, eax
        }

        private void DescriptorTable()
        {
            int kind = rng.Next(4);
            if (kind < 2)
            {
                // lgdt / lidt of a pseudo-descriptor at 6000h..6028h (see GuestEnvironment)
                B(0x0F, 0x01);
                MemoryOperand(kind == 0 ? 2 : 3, TablePointers + ((uint)rng.Next(6) * 8));
                return;
            }

            if (kind == 2)
            {
                // sgdt / sidt / smsw into the data area
                B(0x0F, 0x01);
                MemoryOperand(rng.Pick([0, 1, 4]), DataOperandAddress());
                return;
            }

            ushort selector = rng.Chance(50) ? rng.Pick([Ldt, Tss, (ushort)0, FlatData]) : Selector();
            MovImm16(0, selector);
            B(0x0F, 0x00, (byte)(0xC0 | (rng.Pick([0, 1, 2, 3, 4, 5]) << 3))); // sldt/str/lldt/ltr/verr/verw ax
        }

        private void SystemInstruction()
        {
            switch (rng.Next(16))
            {
                case 0: B(0x0F, 0x06); break; // clts
                case 1: B(0x0F, 0x09); break; // wbinvd
                case 2: B(0x0F, 0x08); break; // invd
                case 3: B(0xF4); break; // hlt
                case 4: B(rng.Chance(50) ? (byte)0xFA : (byte)0xFB); break; // cli / sti
                case 5: B(0x0F, rng.Chance(50) ? (byte)0x02 : (byte)0x03, (byte)(0xC0 | (rng.Next(8) << 3))); break; // lar/lsl r, ax
                case 6: B(0x0F, 0x01, 0xF0); break; // lmsw ax
                case 7:
                    B(0x0F, 0x01);
                    MemoryOperand(7, rng.Chance(50) ? DataOperandAddress() : rng.NextUInt32()); // invlpg
                    break;
                case 8:
                case 9:
                    MovImm32(1, rng.Chance(80) ? rng.Pick(s_msrs) : rng.NextUInt32()); // ecx = MSR
                    MovImm32(0, rng.NextUInt32());
                    MovImm32(2, rng.Chance(50) ? 0 : rng.NextUInt32());
                    B(0x0F, rng.Chance(50) ? (byte)0x30 : (byte)0x32); // wrmsr / rdmsr
                    break;
                case 10: B(0x0F, 0xA2); break; // cpuid
                case 11: B(0x0F, 0x31); break; // rdtsc
                case 12: B(0x0F, rng.Chance(50) ? (byte)0x34 : (byte)0x35); break; // sysenter / sysexit
                case 13: B(0x0F, 0x0B); break; // ud2
                case 14: B(0x63, (byte)(0xC0 | rng.Next(64))); break; // arpl
                default: B(0x0F, 0xAA); break; // rsm
            }
        }

        private void StringOperation()
        {
            MovImm32(1, rng.Chance(80) ? (uint)rng.Next(64) : rng.NextUInt32()); // ecx: count
            if (rng.Chance(40))
            {
                MovImm32(rng.Pick([6, 7]), rng.Chance(50) ? (uint)rng.Next(0x10000) : rng.NextUInt32()); // esi / edi
            }

            B(rng.Chance(70) ? (byte)0xFC : (byte)0xFD); // cld / std
            byte op = rng.Pick(new byte[] { 0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF, 0x6C, 0x6D, 0x6E, 0x6F });
            if (op is >= 0x6C and <= 0x6F)
            {
                MovImm16(2, rng.Pick(s_ports)); // dx: port
            }

            if (rng.Chance(20))
            {
                B(rng.Pick(new byte[] { 0x66, 0x67, 0x26, 0x2E, 0x64 }));
            }

            B(rng.Chance(50) ? (byte)0xF3 : (byte)0xF2, op);
        }

        private void PortIo()
        {
            ushort port = rng.Chance(85) ? rng.Pick(s_ports) : (ushort)rng.NextUInt32();
            if (rng.Chance(50))
            {
                MovImm32(0, rng.Chance(50) ? (uint)rng.Next(0x100) : rng.NextUInt32()); // the value an OUT writes
            }

            if (rng.Chance(20))
            {
                B(0x66);
            }

            if (port < 0x100 && rng.Chance(50))
            {
                B((byte)(0xE4 + rng.Next(4)), (byte)port); // in/out al/ax/eax, imm8
            }
            else
            {
                MovImm16(2, port);
                B((byte)(0xEC + rng.Next(4))); // in/out al/ax/eax, dx
            }
        }

        private void X87()
        {
            switch (rng.Next(8))
            {
                case 0: B(0xDB, 0xE3); break; // fninit
                case 1: B(0xD9, (byte)(0xE8 + rng.Next(7))); break; // fld1, fldl2t, ... fldz
                case 2: B(0xDF, 0xE0); break; // fnstsw ax
                case 3: B(0x9B); break; // fwait
                case 4:
                    // fnstenv / fldenv / fnsave / frstor / fldcw / fnstcw on the data area
                    (byte op, int reg) = rng.Pick(new (byte, int)[] { (0xD9, 6), (0xD9, 4), (0xDD, 6), (0xDD, 4), (0xD9, 5), (0xD9, 7) });
                    if (rng.Chance(30))
                    {
                        B(0x66);
                    }

                    B(op);
                    MemoryOperand(reg, DataOperandAddress());
                    break;
                default:
                    byte escape = (byte)(0xD8 + rng.Next(8));
                    if (rng.Chance(60))
                    {
                        B(escape, (byte)(0xC0 | rng.Next(64))); // register forms
                    }
                    else
                    {
                        B(escape);
                        MemoryOperand(rng.Next(8), DataOperandAddress());
                    }

                    break;
            }
        }

        private void Flags()
        {
            // pushf-style: push a random flags image (TF, IOPL, NT, AC, VM, IF...) and popf it.
            uint value = rng.NextUInt32() & (rng.Chance(50) ? 0x0000_7FD5u : 0x003F_7FD5u);
            if (Is16 && rng.Chance(50))
            {
                B(0x66, 0x68);
                D(value);
                B(0x66, 0x9D);
            }
            else
            {
                B(0x68);
                Imm(value);
                B(0x9D);
            }
        }

        private void Branch()
        {
            switch (rng.Next(7))
            {
                case 0: B(0xEB, (byte)rng.Next(256)); break; // jmp short
                case 1: B((byte)(0x70 + rng.Next(16)), (byte)rng.Next(256)); break; // jcc short
                case 2: B(0xE2, (byte)rng.Next(256)); break; // loop
                case 3: B(0xE3, (byte)rng.Next(256)); break; // jcxz
                case 4: B(0xE8); Imm((uint)(rng.Next(0x200) - 0x100)); break; // call near
                case 5: B(rng.Pick(new byte[] { 0xC3, 0xCB, 0xCA, 0xC2 })); if (_out[^1] is 0xCA or 0xC2) { W((ushort)rng.Next(16)); } break; // ret / retf
                default: B(0xFF, (byte)(0xE0 | rng.Next(8))); break; // jmp reg
            }
        }

        private void StackOperation()
        {
            switch (rng.Next(5))
            {
                case 0: B(rng.Chance(50) ? (byte)0x60 : (byte)0x61); break; // pusha / popa
                case 1: B(0xC8); W((ushort)rng.Next(64)); B((byte)rng.Next(40)); break; // enter
                case 2: B(0xC9); break; // leave
                case 3:
                    // a new stack pointer, sometimes a hostile one
                    MovImm32(4, rng.Chance(70) ? (Is16 ? (uint)rng.Next(0x10000) : Ring3StackTop - (uint)rng.Next(0x1000)) : rng.NextUInt32());
                    break;
                default:
                    B(0x62); // bound r, m
                    MemoryOperand(rng.Next(8), DataOperandAddress());
                    break;
            }
        }
    }
}

// tlm summarize: see translate.ts (the same command, with summaries' decoding defaults).
import { seq2seqCommand } from './translate.js';

export default seq2seqCommand('summarize');
